package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/verdict"
)

// Compared is one record set against a base: lanes matched by name, each compared metric's
// ratio to the base with its range and significance, and what differs between the runs'
// systems and settings.
type Compared struct {
	Base    Named
	Others  []Named
	Figures []CompareRow
	// Differences between the base's System and plan and each other record's, first.
	Differences []string
	// Unmatched names lanes found in one record only.
	Unmatched []string
	// Tested: every comparison had runs enough to be tested.
	Tested bool
	// Refused says, record by record, why nothing is compared (a busy machine), or is nil.
	Refused []string
	// Lost lists the figures compared lanes lost, and why: they are left out of the
	// ratios (what is left is compared), and the gate refuses them.
	Lost []Loss
}

// Named is a record with the name it was given on the command line.
type Named struct {
	Name string
	Rec  *record.Record
}

// CompareRow is one metric of one lane in one record against the base.
type CompareRow struct {
	Metric record.Metric
	Lane   string
	// Record indexes Others.
	Record int
	Base   float64
	Value  float64
	C      verdict.Comparison
}

// CompareRecords matches lanes by name (renames maps a base lane's name to another
// record's name for it) and compares every metric both have.
func CompareRecords(base Named, others []Named, renames map[string]string) (*Compared, error) {
	unflattened := make([]*record.Record, len(others))
	for i := range others {
		unflattened[i] = others[i].Rec
		others[i].Rec = flattenSweep(others[i].Rec)
	}
	baseRec := base.Rec
	base.Rec = flattenSweep(base.Rec)
	out := &Compared{Base: base, Others: others, Tested: true}
	// What is compared is what was measured: runs that lost figures are left out of the
	// cleaned records, and said in Lost.
	baseClean, baseLost := withoutLosses(baseRec, base.Name)
	baseClean = flattenSweep(baseClean)
	baseIdx := laneIndex(base.Rec)
	for from := range renames {
		if _, ok := baseIdx[from]; !ok {
			return nil, fmt.Errorf("--match %s=%s: %s has no lane %q (its lanes: %s)", from, renames[from], base.Name, from, laneNames(base.Rec))
		}
	}
	var cs []verdict.Comparison
	var rows []CompareRow
	baseLoss := map[string]*Loss{}
	for _, l := range baseLost {
		baseLoss[l.Lane] = &l
	}
	baseCompared := map[string]bool{}
	for oi, o := range others {
		clean, lost := withoutLosses(unflattened[oi], o.Name)
		clean = flattenSweep(clean)
		idx := laneIndex(o.Rec)
		matched := 0
		for _, bt := range base.Rec.Targets {
			want := bt.Name
			if to, ok := renames[bt.Name]; ok {
				want = to
			}
			ti, ok := idx[want]
			if !ok {
				out.Unmatched = append(out.Unmatched, fmt.Sprintf("%s (in %s, not in %s)", bt.Name, base.Name, o.Name))
				continue
			}
			matched++
			baseCompared[bt.Name] = true
			bi := baseIdx[bt.Name]
			otherLoss := lossOf(lost, o.Name, want)
			if baseLoss[bt.Name] == nil {
				baseLoss[bt.Name] = &Loss{Record: base.Name, Lane: bt.Name}
			}
			for _, m := range record.MetricsFor(base.Rec, o.Rec) {
				c := verdict.CompareUnpaired(m, baseClean, bi, clean, ti)
				bHas, oHas := hasFigure(m, baseClean.Targets[bi]), hasFigure(m, clean.Targets[ti])
				if bHas && !oHas && !otherLoss.covers(m) {
					otherLoss.add(unmeasured(m, clean.Targets[ti], base.Name))
				}
				if oHas && !bHas && !baseLoss[bt.Name].covers(m) {
					baseLoss[bt.Name].add(unmeasured(m, baseClean.Targets[bi], o.Name))
				}
				if c.N == 0 {
					continue
				}
				rows = append(rows, CompareRow{Metric: m, Lane: bt.Name, Record: oi,
					Base: m.Median(baseClean.Targets[bi]), Value: m.Median(clean.Targets[ti])})
				cs = append(cs, c)
			}
			if len(otherLoss.Causes) > 0 {
				out.Lost = append(out.Lost, *otherLoss)
			}
		}
		if matched == 0 {
			return nil, fmt.Errorf("no lane of %s matches one of %s by name (%s against %s): name the pairs with --match BASE=NEW",
				o.Name, base.Name, laneNames(o.Rec), laneNames(base.Rec))
		}
		out.Differences = append(out.Differences, systemDifferences(base, o)...)
	}
	var baseLosses []Loss
	for _, t := range base.Rec.Targets {
		if l := baseLoss[t.Name]; l != nil && baseCompared[t.Name] && len(l.Causes) > 0 {
			baseLosses = append(baseLosses, *l)
		}
	}
	out.Lost = append(baseLosses, out.Lost...)
	verdict.Correct(cs)
	for i := range rows {
		rows[i].C = cs[i]
		out.Tested = out.Tested && cs[i].Testable()
	}
	out.Figures = rows
	refuseBusyCompare(out)
	return out, nil
}

// flattenSweep turns a sweep record's lanes into one lane per lane and step, named
// "system threads=8", so that two sweeps compare value by value.
func flattenSweep(r *record.Record) *record.Record {
	if r.Plan.Sweep == nil {
		return r
	}
	flat := r.Step(0)
	flat.Targets = nil
	for k := 0; k < r.Steps(); k++ {
		step := r.Step(k)
		for _, t := range step.Targets {
			t.Name += " " + r.Plan.Sweep.Label(k)
			for j := range t.Runs {
				t.Runs[j].Step = 0
			}
			flat.Targets = append(flat.Targets, t)
		}
	}
	return flat
}

// unmeasured is the cause of a figure t lacks and the record named has: t has no runs (a
// sweep's step that never ran), or none of its runs measured it.
func unmeasured(m record.Metric, t record.Target, has string) Cause {
	if len(t.Runs) == 0 {
		return Cause{Kind: LostUnmeasured, Why: "it has no runs; " + has + " has"}
	}
	// A lane that kept its load memory has no time to give back, which is not a
	// measurement missing: it is the figure's worst, and a gate on it must not pass.
	if m.Key == record.MetricReleaseHalf.Key && keptRelease(t) {
		return Cause{Kind: LostUnmeasured, Why: "it kept half of its load memory past the idle in most cycles; " + has + " gave it back", Figures: []string{m.Key}}
	}
	return Cause{Kind: LostUnmeasured, Why: "no run measured it; " + has + " has it", Figures: []string{m.Key}}
}

// lossOf is the loss of lane in the record named name, found in losses or new.
func lossOf(losses []Loss, name, lane string) *Loss {
	for i := range losses {
		if losses[i].Lane == lane {
			return &losses[i]
		}
	}
	return &Loss{Record: name, Lane: lane}
}

// covers says whether the loss already accounts for figure m.
func (l *Loss) covers(m record.Metric) bool {
	for _, c := range l.Causes {
		if len(c.Figures) == 0 || slices.Contains(c.Figures, m.Key) {
			return true
		}
	}
	return false
}

// keptRelease says whether a run of t kept half of its load memory in most cycles.
func keptRelease(t record.Target) bool {
	for _, run := range t.Runs {
		if ret := record.RetentionOf(run); ret != nil && TypicalRelease(ret, ReleaseHalf).Kept {
			return true
		}
	}
	return false
}

func hasFigure(m record.Metric, t record.Target) bool {
	_, ok := m.Values(t)
	return slices.Contains(ok, true)
}

func laneIndex(r *record.Record) map[string]int {
	m := map[string]int{}
	for i, t := range r.Targets {
		m[t.Name] = i
	}
	return m
}

func laneNames(r *record.Record) string {
	var n []string
	for _, t := range r.Targets {
		n = append(n, t.Name)
	}
	return strings.Join(n, ", ")
}

// systemDifferences lists what differs between two records' machines and plans: the
// first thing to read when their figures differ.
func systemDifferences(a, b Named) []string {
	var out []string
	diff := func(what, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s: %s in %s, %s in %s", what, orUnknown(x), a.Name, orUnknown(y), b.Name))
		}
	}
	ma, mb := a.Rec.Machine, b.Rec.Machine
	diff("kernel", ma.Kernel, mb.Kernel)
	diff("CPU", ma.CPUModel, mb.CPUModel)
	diff("cores", strconv.Itoa(ma.Cores), strconv.Itoa(mb.Cores))
	diff("memory", Bytes(float64(ma.MemoryBytes)), Bytes(float64(mb.MemoryBytes)))
	diff("virtualization", ma.Virtualization, mb.Virtualization)
	diff("transparent huge pages", ma.THP, mb.THP)
	diff("vm.overcommit_memory", ma.OvercommitMode, mb.OvercommitMode)
	diff("allocscope", a.Rec.Tool.Version, b.Rec.Tool.Version)
	pa, pb := a.Rec.Plan, b.Rec.Plan
	diff("request path", pa.Path, pb.Path)
	diff("connections", strconv.Itoa(pa.Connections), strconv.Itoa(pb.Connections))
	diff("duration", pa.Duration.String(), pb.Duration.String())
	diff("pipelining", strconv.Itoa(pa.Pipelining), strconv.Itoa(pb.Pipelining))
	diff("rate", strconv.FormatFloat(pa.Rate, 'g', -1, 64), strconv.FormatFloat(pb.Rate, 'g', -1, 64))
	diff("sequential", strconv.FormatBool(pa.Sequential), strconv.FormatBool(pb.Sequential))
	diff("runs", strconv.Itoa(pa.Runs), strconv.Itoa(pb.Runs))
	ta, tb := record.Summarize(a.Rec), record.Summarize(b.Rec)
	threads := func(s []record.Summary, name string) string {
		for _, x := range s {
			if x.Target == name && x.Threads.Known() {
				return Count(x.Threads.Median)
			}
		}
		return ""
	}
	for _, t := range a.Rec.Targets {
		diff(t.Name+" threads under load", threads(ta, t.Name), threads(tb, t.Name))
	}
	return out
}

// CompareText writes the comparison as aligned text tables, one per figure.
func CompareText(w io.Writer, c *Compared) error {
	var b strings.Builder
	if len(c.Differences) > 0 {
		b.WriteString("The runs differ in their systems or settings, which may explain differences below:\n")
		for _, d := range c.Differences {
			b.WriteString("  " + Printable(d) + "\n")
		}
		b.WriteString("\n")
	}
	if len(c.Lost) > 0 {
		b.WriteString("Lost figures, left out of the ratios below (what is left is compared):\n")
		for _, l := range c.Lost {
			b.WriteString("  " + Printable(l.String()) + "\n")
		}
		b.WriteString("\n")
	}
	// Only the figures compared have rows: a cycled record's show after the others.
	for _, m := range record.AllMetrics {
		rows := c.rowsOf(m)
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s (each against %s)\n", m.Label, Printable(c.Base.Name))
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "lane\t%s\t", Printable(c.Base.Name))
		for _, o := range c.Others {
			fmt.Fprintf(tw, "%s\t\t", Printable(o.Name))
		}
		fmt.Fprintln(tw)
		for _, lane := range c.lanes() {
			fmt.Fprintf(tw, "%s\t", Printable(lane))
			first := true
			for oi := range c.Others {
				r, ok := c.row(m, lane, oi)
				if first {
					fmt.Fprintf(tw, "%s\t", cellValue(m, r.Base, ok))
					first = false
				}
				if !ok {
					fmt.Fprintf(tw, "n/a\t\t")
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t", unitFormat(m.Unit)(r.Value), ratioCell(r.C))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		for _, r := range rows {
			if why := c.heldBack(r); why != "" {
				b.WriteString("  ~ " + Printable(why) + "\n")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(c.legend())
	_, err := io.WriteString(w, b.String())
	return err
}

// CompareMarkdown writes the comparison as Markdown tables.
func CompareMarkdown(w io.Writer, c *Compared) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# allocscope compare: %s", mdCell(Printable(c.Base.Name)))
	for _, o := range c.Others {
		fmt.Fprintf(&b, " vs %s", mdCell(Printable(o.Name)))
	}
	b.WriteString("\n\n")
	if len(c.Differences) > 0 {
		b.WriteString("### What differs between the runs\n\n")
		for _, d := range c.Differences {
			b.WriteString("- " + mdCell(Printable(d)) + "\n")
		}
		b.WriteString("\n")
	}
	if len(c.Lost) > 0 {
		b.WriteString("### Lost figures\n\nLeft out of the ratios below; what is left is compared.\n\n")
		for _, l := range c.Lost {
			b.WriteString("- " + mdCell(Printable(l.String())) + "\n")
		}
		b.WriteString("\n")
	}
	for _, m := range record.AllMetrics {
		if len(c.rowsOf(m)) == 0 {
			continue
		}
		fmt.Fprintf(&b, "### %s\n\n| Lane | %s |", m.Label, mdCell(Printable(c.Base.Name)))
		for _, o := range c.Others {
			fmt.Fprintf(&b, " %s | vs base |", mdCell(Printable(o.Name)))
		}
		b.WriteString("\n|---|---:|" + strings.Repeat("---:|---|", len(c.Others)) + "\n")
		for _, lane := range c.lanes() {
			fmt.Fprintf(&b, "| %s |", mdCell(Printable(lane)))
			for oi := range c.Others {
				r, ok := c.row(m, lane, oi)
				if oi == 0 {
					fmt.Fprintf(&b, " %s |", cellValue(m, r.Base, ok))
				}
				if !ok {
					b.WriteString(" n/a | |")
					continue
				}
				fmt.Fprintf(&b, " %s | %s |", unitFormat(m.Unit)(r.Value), ratioCell(r.C))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
		notes := false
		for _, r := range c.rowsOf(m) {
			if why := c.heldBack(r); why != "" {
				b.WriteString("- ~ " + mdCell(Printable(why)) + "\n")
				notes = true
			}
		}
		if notes {
			b.WriteString("\n")
		}
	}
	b.WriteString(c.legend())
	_, err := io.WriteString(w, b.String())
	return err
}

type compareJSON struct {
	Figure    string   `json:"figure"`
	Lane      string   `json:"lane"`
	Base      string   `json:"base"`
	Record    string   `json:"record"`
	BaseValue *float64 `json:"base_value"`
	Value     *float64 `json:"value"`
	// Ratio, Low and High are null where they overflow (a lane that served nothing
	// against one that served something).
	Ratio       *float64 `json:"ratio"`
	Low         *float64 `json:"low,omitempty"`
	High        *float64 `json:"high,omitempty"`
	P           float64  `json:"p"`
	PHolm       float64  `json:"p_holm"`
	Runs        int      `json:"runs"`
	Tested      bool     `json:"tested"`
	Significant bool     `json:"significant"`
	// Reason and Why: the rule that held back a difference whose interval excludes 1.
	Reason string `json:"reason,omitempty"`
	Why    string `json:"why,omitempty"`
}

func (c *Compared) jsonRows() []compareJSON {
	var out []compareJSON
	num := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	for _, r := range c.Figures {
		j := compareJSON{Figure: r.Metric.Key, Lane: r.Lane, Base: c.Base.Name, Record: c.Others[r.Record].Name,
			BaseValue: num(r.Base), Value: num(r.Value), Ratio: num(r.C.Ratio), P: r.C.P, PHolm: r.C.PHolm, Runs: r.C.N,
			Tested: r.C.Testable(), Significant: r.C.Significant, Reason: r.C.Reason.String(), Why: r.C.Why()}
		if r.C.Interval() {
			j.Low, j.High = num(r.C.Low), num(r.C.High)
		}
		out = append(out, j)
	}
	return out
}

// CompareJSON writes the comparison as JSON: the differences and one row per figure.
func CompareJSON(w io.Writer, c *Compared) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Differences []string      `json:"differences"`
		Unmatched   []string      `json:"unmatched,omitempty"`
		Lost        []Loss        `json:"lost,omitempty"`
		Rows        []compareJSON `json:"rows"`
		Refused     []string      `json:"refused,omitempty"`
	}{append([]string{}, c.Differences...), c.Unmatched, c.Lost, c.jsonRows(), c.Refused})
}

// CompareCSV writes one row per figure, lane and record.
func CompareCSV(w io.Writer, c *Compared) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"figure", "lane", "base", "record", "base_value", "value", "ratio", "low", "high", "p", "runs", "tested", "significant", "reason"})
	f := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'g', 8, 64)
	}
	f4 := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', 4, 64)
	}
	for _, r := range c.jsonRows() {
		cw.Write([]string{r.Figure, Printable(r.Lane), Printable(r.Base), Printable(r.Record), f(r.BaseValue), f(r.Value),
			f4(r.Ratio), f4(r.Low), f4(r.High),
			strconv.FormatFloat(r.P, 'g', 4, 64), strconv.Itoa(r.Runs), strconv.FormatBool(r.Tested), strconv.FormatBool(r.Significant), r.Why})
	}
	cw.Flush()
	return cw.Error()
}

func (c *Compared) rowsOf(m record.Metric) []CompareRow {
	var out []CompareRow
	for _, r := range c.Figures {
		if r.Metric.Key == m.Key {
			out = append(out, r)
		}
	}
	return out
}

func (c *Compared) row(m record.Metric, lane string, other int) (CompareRow, bool) {
	for _, r := range c.Figures {
		if r.Metric.Key == m.Key && r.Lane == lane && r.Record == other {
			return r, true
		}
	}
	return CompareRow{Base: math.NaN()}, false
}

func (c *Compared) lanes() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range c.Figures {
		if !seen[r.Lane] {
			seen[r.Lane] = true
			out = append(out, r.Lane)
		}
	}
	return out
}

func cellValue(m record.Metric, v float64, ok bool) string {
	if !ok || math.IsNaN(v) {
		return "n/a"
	}
	return unitFormat(m.Unit)(v)
}

// ratioCell is "0.91× (0.88–0.94) *", "1.02× ~" where there is no clear difference, or
// the bare ratio where there were too few runs to test.
func ratioCell(c verdict.Comparison) string {
	switch {
	case !c.Testable():
		return fmt.Sprintf("%.2f×", c.Ratio)
	case c.Significant:
		return fmt.Sprintf("%.2f× (%.2f–%.2f) *", c.Ratio, c.Low, c.High)
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f) ~", c.Ratio, c.Low, c.High)
}

// heldBack is the note under a table for a row whose interval excludes 1 and that was not
// called: "jemalloc in new.json: 0.96× (0.95–0.97), but not every run went the same way: 2 of 3".
func (c *Compared) heldBack(r CompareRow) string {
	if r.C.Reason == verdict.NoReason {
		return ""
	}
	return fmt.Sprintf("%s in %s: %.2f× (%.2f–%.2f), but %s", r.Lane, c.Others[r.Record].Name, r.C.Ratio, r.C.Low, r.C.High, r.C.Why())
}

// Refusal is a reason for a gate to fail whatever the ratios say, one per lane or busy
// record: Line says it whole, Allow names the flag that lets the gate pass over it.
type Refusal struct {
	Allow string
	Line  string
}

// Refusals are what a gate on the figures gated (their keys) refuses: each compared lane
// that lost some of them, or every figure (a crash, an OOM kill, a dead load, a lost
// source, an incomplete record), and each record made on a busy machine. A lane that lost
// only figures the gate does not read (a remote lane's VSZ) is judged on the rest.
func (c *Compared) Refusals(gated []string) []Refusal {
	var out []Refusal
	for _, l := range c.Lost {
		kept := l
		kept.Causes = nil
		for _, cause := range l.Causes {
			if len(cause.Figures) == 0 || slices.ContainsFunc(cause.Figures, func(k string) bool { return slices.Contains(gated, k) }) {
				kept.Causes = append(kept.Causes, cause)
			}
		}
		if len(kept.Causes) > 0 {
			out = append(out, Refusal{Allow: "--allow-missing", Line: kept.String() + ": the gate cannot judge what it lost (--allow-missing gates on what is left)"})
		}
	}
	// A busy record's figures are the other work's as much as the allocators': it can be
	// neither passed nor failed on them.
	for _, line := range c.Refused {
		out = append(out, Refusal{Allow: "--allow-busy", Line: line})
	}
	return out
}

func (c *Compared) legend() string {
	if len(c.Refused) > 0 {
		return refusedLegend(c)
	}
	var b strings.Builder
	switch {
	case len(c.Figures) == 0:
		b.WriteString("No figure of any lane could be compared.\n")
	case c.Tested:
		fmt.Fprintf(&b, "Ratios are each record's over the base's (geometric means of the runs, 95%% interval); * a difference that Welch's t-test on the log values calls real after Holm's correction over all %d comparisons (p < %g, at least %.0f%% apart, every run on the same side of the base), ~ no clear difference.\n",
			len(c.Figures), verdict.Alpha, 100*verdict.MinEffect)
	default:
		fmt.Fprintf(&b, "Ratios are each record's over the base's. Some records hold fewer than %d runs: their ratios are single observations, not tested (run with --runs %d or more to test them).\n",
			verdict.MinRuns, verdict.MinRuns)
	}
	for _, u := range c.Unmatched {
		b.WriteString("Not compared: " + Printable(u) + "\n")
	}
	return b.String()
}
