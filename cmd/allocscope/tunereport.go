package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/tune"
)

// tuneFile is where report finds a search: the file itself, or DIR/tune.json when the
// argument is a tune --out directory.
func tuneFile(path string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if _, err := os.Stat(filepath.Join(path, "tune.json")); err == nil {
			return filepath.Join(path, "tune.json")
		}
	}
	return path
}

// readTune reads a tune search, or says the file is not one (ok false): a run record is
// an object, a search a list of outcomes each with its trials and recommendation, so
// the content tells them apart whatever the file is called.
func readTune(path string) (data []byte, outs []tune.Outcome, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, false
	}
	var probe []map[string]json.RawMessage
	if json.Unmarshal(data, &probe) != nil || len(probe) == 0 {
		return nil, nil, false
	}
	for _, o := range probe {
		_, trials := o["trials"]
		_, rec := o["recommended"]
		if !trials || !rec {
			return nil, nil, false
		}
	}
	if json.Unmarshal(data, &outs) != nil {
		return nil, nil, false
	}
	return data, outs, true
}

// reportTune writes a search as Markdown, or as the file is (json).
func reportTune(path string, data []byte, outs []tune.Outcome, format, out string, charted bool) error {
	if charted {
		return usagef("%s is a tune search, not a run: --metric and --chart draw a run; report a trial's record (listed in the search) instead", path)
	}
	f := strings.ToLower(format)
	if f == "" && out != "" {
		f = strings.TrimPrefix(strings.ToLower(filepath.Ext(out)), ".")
	}
	switch f {
	case "", "md", "markdown":
		var buf bytes.Buffer
		writeTuneMarkdown(&buf, path, outs)
		data = buf.Bytes()
	case "json":
	default:
		return usagef("%s is a tune search: it is written as md or json, not %q", path, f)
	}
	if out != "" {
		return record.WriteFileAtomic(out, data)
	}
	_, err := os.Stdout.Write(data)
	return err
}

func writeTuneMarkdown(w io.Writer, path string, outs []tune.Outcome) {
	for i, o := range outs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "# Tuning %s\n\n", o.Allocator)
		if o.Command != "" {
			fmt.Fprintf(w, "`%s`\n\n", o.Command)
		}
		keep := strings.Join(o.Keep, ", ")
		if keep == "" {
			keep = "none"
		}
		budget := o.Budget
		if budget == "" {
			budget = "not recorded"
		}
		fmt.Fprintf(w, "Minimize %s, keeping %s, within a budget of %s.\n\n", o.Objective, keep, budget)
		fmt.Fprintf(w, "## Outcome\n\n")
		if o.Recommended == "" {
			fmt.Fprintf(w, "**Keep the defaults.** %s\n\n", o.Why)
		} else {
			fmt.Fprintf(w, "**Recommended:** `%s`: %s %.2f× the defaults' (interval %.2f–%.2f).\n\n%s\n\n", o.Recommended, o.Objective, o.Ratio, o.Low, o.High, o.Why)
		}
		if len(o.Skipped) > 0 {
			fmt.Fprintf(w, "Not screened within the budget: %s.\n\n", strings.Join(o.Skipped, ", "))
		}
		fmt.Fprintf(w, "## Trials\n\n| # | kind | lanes | runs | record |\n|---|---|---|---|---|\n")
		for n, t := range o.Trials {
			kind := t.Stage
			if t.Knob != "" {
				kind += " of " + t.Knob
			}
			lanes := []string{"defaults"}
			for _, r := range t.Results {
				lanes = append(lanes, "`"+r.Candidate+"`")
			}
			rec := trialRecord(path, t.Record)
			if rec == "" {
				rec = "none kept"
			}
			fmt.Fprintf(w, "| %d | %s | %s | %d | %s |\n", n+1, kind, strings.Join(lanes, ", "), t.Runs, rec)
		}
		fmt.Fprintf(w, "\nEach trial's record shows its lanes: `allocscope report RECORD` or `allocscope replay RECORD`.\n\n")
		fmt.Fprintf(w, "## Front\n\n")
		if len(o.Front) == 0 {
			fmt.Fprintf(w, "No candidate on the front: none beat the defaults on any of %s, req/s, p99.\n", o.Objective)
			continue
		}
		fmt.Fprintf(w, "Ratios to the defaults beside them (medians).\n\n| setting | %s | req/s | p99 |\n|---|---|---|---|\n", o.Objective)
		for _, r := range o.Front {
			fmt.Fprintf(w, "| `%s` | %.2f× | %.2f× | %.2f× |\n", r.Candidate, r.Objective, r.RPS, r.P99)
		}
	}
}

// trialRecord is a trial's record path as it can be opened from here: tune saved it
// relative to where it ran, so one moved with its tune.json is found beside it.
func trialRecord(tunePath, rec string) string {
	if rec == "" {
		return ""
	}
	if _, err := os.Stat(rec); err == nil {
		return rec
	}
	beside := filepath.Join(filepath.Dir(tunePath), filepath.Base(rec))
	if _, err := os.Stat(beside); err == nil {
		return beside
	}
	return rec
}

// commandLine is argv as one line to paste, the binary by its name.
func commandLine(argv []string) string {
	words := []string{"allocscope"}
	for _, a := range argv[1:] {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$`\\|&;<>()*?[]{}!#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}
