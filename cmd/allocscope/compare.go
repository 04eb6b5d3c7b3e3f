package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/verdict"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// matchFlag collects --match BASE=NEW lane renames.
type matchFlag map[string]string

func (m matchFlag) String() string { return "" }
func (m matchFlag) Type() string   { return "value" }
func (m matchFlag) Set(s string) error {
	from, to, ok := strings.Cut(s, "=")
	if !ok || from == "" || to == "" {
		return fmt.Errorf("--match %q: use BASE_LANE=NEW_LANE", s)
	}
	m[from] = to
	return nil
}

// gateFlags are --fail-if and the --allow-* flags, each of which lets the gate pass over
// one kind of refusal (report.Refusal.Allow names it).
type gateFlags struct {
	failIf *string
	allow  map[string]*bool
}

// addGateFlags defines --fail-if (described by failIfUsage) and the --allow-* flags.
func addGateFlags(fs *pflag.FlagSet, failIfUsage string) gateFlags {
	g := gateFlags{failIf: fs.String("fail-if", "", failIfUsage), allow: map[string]*bool{}}
	g.allow["--allow-busy"] = addAllowBusy(fs)
	g.allow["--allow-missing"] = fs.Bool("allow-missing", false, "with --fail-if: pass over lanes that lost figures (crashed, OOM-killed, load died, source lost, record incomplete) and gate on what is left")
	return g
}

// allows says whether the --allow-* flag named flag was given.
func (g gateFlags) allows(flag string) bool { return g.allow[flag] != nil && *g.allow[flag] }

func newCompareCmd() *cobra.Command {
	fs := newFlags("compare")
	match := matchFlag{}
	fs.Var(match, "match", "compare lane BASE of the base record with lane NEW of the others (repeatable)")
	format := fs.String("format", "text", "text, md, json or csv")
	out := fs.StringP("o", "o", "", "write to FILE (atomically) instead of stdout")
	gate := addGateFlags(fs, "exit 1 when a figure moved past a limit, e.g. 'peak_rss>+10%,p99>+20%,rps<-5%', or a compared lane lost figures")
	c := checksDryRun(command("compare BASE.json NEW.json [MORE.json…] [--match BASE=NEW] [--format text|md|json|csv] [--fail-if EXPR [--allow-missing]] [-o FILE]",
		"ratios to a base run, tested; a CI gate", fs, fileArgs("json"), func(paths []string) error {
			return cmdCompare(fs, match, *format, *out, gate, paths)
		}))
	c.RegisterFlagCompletionFunc("format", words("text", "md", "json", "csv"))
	return c
}

func cmdCompare(fs *pflag.FlagSet, match matchFlag, format, out string, flags gateFlags, paths []string) error {
	failIf := flags.failIf
	if len(paths) < 2 {
		return usagef("compare needs a base record and at least one more: allocscope compare BASE.json NEW.json")
	}
	var gate verdict.Gate
	if *failIf != "" {
		var err error
		if gate, err = verdict.ParseGate(*failIf); err != nil {
			return usageError{err.Error()}
		}
	}
	render, err := compareRenderer(format)
	if err != nil || dryRun {
		return err
	}
	var recs []report.Named
	for _, p := range paths {
		rec, err := loadRecord(p)
		if err != nil {
			return err
		}
		recs = append(recs, report.Named{Name: p, Rec: rec})
		if allowBusy(fs) {
			record.AllowBusy(rec)
		}
	}
	c, err := report.CompareRecords(recs[0], recs[1:], match)
	if err != nil {
		return usageError{err.Error()}
	}
	var buf bytes.Buffer
	if err := render(&buf, c); err != nil {
		return err
	}
	if out != "" {
		if err := record.WriteFileAtomic(out, buf.Bytes()); err != nil {
			return err
		}
	} else {
		os.Stdout.Write(buf.Bytes())
	}
	return checkGate(os.Stderr, gate, flags, c)
}

func compareRenderer(format string) (func(io.Writer, *report.Compared) error, error) {
	switch format {
	case "text", "":
		return report.CompareText, nil
	case "md", "markdown":
		return report.CompareMarkdown, nil
	case "json":
		return report.CompareJSON, nil
	case "csv":
		return report.CompareCSV, nil
	}
	return nil, usagef("--format %q: use text, md, json or csv", format)
}

// errGate is a CI gate that failed: exit 1, after one line per refused lane and breach.
var errGate = errors.New("gate")

// checkGate writes one line per refusal the flags do not allow (a lane that lost figures)
// and per breached threshold, and fails if there is any; with no gate it passes.
func checkGate(w io.Writer, gate verdict.Gate, flags gateFlags, c *report.Compared) error {
	if gate == nil {
		return nil
	}
	refused := 0
	for _, r := range c.Refusals(gate.Keys()) {
		if flags.allows(r.Allow) {
			continue
		}
		refused++
		fmt.Fprintln(w, report.Printable("allocscope: FAIL "+r.Line))
	}
	blind := 0
	// A cycled record's figure that no lane has was never measured: passing the gate on
	// it would pass what nobody saw.
	for _, t := range gate {
		if !slices.ContainsFunc(record.CycleMetrics, func(m record.Metric) bool { return m.Key == t.Metric.Key }) ||
			slices.ContainsFunc(c.Figures, func(r report.CompareRow) bool { return r.Metric.Key == t.Metric.Key }) {
			continue
		}
		blind++
		fmt.Fprintln(w, report.Printable(fmt.Sprintf("allocscope: FAIL %s: no compared lane has a figure for %s: it is one of cycled runs (run --cycles N)",
			t.Text, report.LowerFirst(t.Metric.Label))))
	}
	var cs []verdict.Comparison
	lanes := map[int]string{}
	records := map[int]string{}
	for i, r := range c.Figures {
		cs = append(cs, r.C)
		lanes[i], records[i] = r.Lane, c.Others[r.Record].Name
	}
	breaches := gate.Check(cs)
	for _, b := range breaches {
		i := b.Index
		line := fmt.Sprintf("allocscope: FAIL %s: %s's %s is %.2f× %s's in %s", b.Threshold.Text, lanes[i], report.LowerFirst(b.Comparison.Metric.Label),
			b.Comparison.Ratio, c.Base.Name, records[i])
		if b.SingleRuns {
			line += " (a comparison of single runs: too few to test, so the size alone counts)"
		} else {
			line += fmt.Sprintf(" (%.2f–%.2f, a real difference)", b.Comparison.Low, b.Comparison.High)
		}
		fmt.Fprintln(w, report.Printable(line))
	}
	// A threshold breached by three lanes is one threshold breached: count both.
	breached := map[string]bool{}
	for _, b := range breaches {
		breached[b.Threshold.Text] = true
	}
	tally := fmt.Sprintf("%d of %d thresholds of --fail-if breached (%s)", len(breached), len(gate), plural(len(breaches), "lane"))
	switch {
	case blind > 0:
		return fmt.Errorf("%w: %s of --fail-if had nothing to judge", errGate, plural(blind, "threshold"))
	case refused > 0 && len(breaches) > 0:
		return fmt.Errorf("%w: %s could not be judged, %s", errGate, plural(refused, "lane"), tally)
	case refused > 0:
		return fmt.Errorf("%w: %s could not be judged", errGate, plural(refused, "lane"))
	case len(breaches) > 0:
		return fmt.Errorf("%w: %s", errGate, tally)
	}
	fmt.Fprintln(w, report.Printable(fmt.Sprintf("allocscope: gate passed: %s of --fail-if held over %s", plural(len(gate), "threshold"), plural(len(cs), "comparison"))))
	return nil
}

// plural is "1 lane", "4 lanes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// against is run's --against BASE.json [--fail-if EXPR]: checked before the run starts,
// applied when it ends.
type against struct {
	base  report.Named
	gate  verdict.Gate
	flags gateFlags
}

// newAgainst loads the base and parses the gate now, so that a bad one stops nothing
// that has started; planned is the new run's record before it starts, for its lanes.
func newAgainst(path string, flags gateFlags, planned *record.Record) (*against, error) {
	failIf := *flags.failIf
	if path == "" {
		if failIf != "" {
			return nil, errors.New("--fail-if needs --against BASE.json to compare with")
		}
		return nil, nil
	}
	rec, err := record.Load(path)
	switch {
	case os.IsNotExist(err):
		return nil, usagef("--against %s: no such file (give a run record, e.g. one --save wrote)", path)
	case err != nil:
		return nil, usagef("--against: %v", err)
	}
	a := &against{base: report.Named{Name: path, Rec: rec}, flags: flags}
	if failIf != "" {
		if a.gate, err = verdict.ParseGate(failIf); err != nil {
			return nil, err
		}
	}
	// The same check compare makes, before anything starts: some lane must match.
	if _, err := report.CompareRecords(a.base, []report.Named{{Name: "this run", Rec: planned}}, nil); err != nil {
		return nil, err
	}
	return a, nil
}

// check prints the comparison with the base and applies the gate.
func (a *against) check(rec *record.Record) error {
	if a == nil {
		return nil
	}
	c, err := report.CompareRecords(a.base, []report.Named{{Name: "this run", Rec: rec}}, nil)
	if err != nil {
		return err
	}
	fmt.Println()
	if err := report.CompareText(os.Stdout, c); err != nil {
		return err
	}
	return checkGate(os.Stderr, a.gate, a.flags, c)
}
