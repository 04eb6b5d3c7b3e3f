package report

import (
	"fmt"
	"strings"

	"github.com/allocscope/allocscope/record"
)

// sweepFigures are the matrices a sweep's report shows, one table each.
var sweepFigures = []struct {
	label string
	get   func(record.Summary) record.Figure
	unit  func(float64) string
	key   string
}{
	{"Peak RSS", func(s record.Summary) record.Figure { return s.PeakRSS }, MiB, record.MetricPeakRSS.Key},
	{"Mean RSS under load", func(s record.Summary) record.Figure { return s.MeanRSSLoad }, MiB, record.MetricMeanRSSLoad.Key},
	{"RSS after cooldown", func(s record.Summary) record.Figure { return s.RSSAfterCooldown }, MiB, record.MetricRSSAfterCooldown.Key},
	{"Peak VSZ", func(s record.Summary) record.Figure { return s.PeakVSZ }, MiB, record.MetricPeakVSZ.Key},
	{"Req/s", func(s record.Summary) record.Figure { return s.ReqPerSec }, Rate, record.MetricReqPerSec.Key},
	{"p99", func(s record.Summary) record.Figure { return s.P99 }, Millis, record.MetricP99.Key},
	{"Threads under load", func(s record.Summary) record.Figure { return s.Threads }, Count, ""},
}

// SweepStep is one step of a sweep, summarised and judged as a record of its own.
type SweepStep struct {
	Label string
	Rec   *record.Record
	Sums  []record.Summary
	V     Verdict
}

// SweepSteps splits a sweep record into its steps.
func SweepSteps(r *record.Record) []SweepStep {
	var out []SweepStep
	for k := 0; k < r.Steps(); k++ {
		sub := r.Step(k)
		out = append(out, SweepStep{Label: r.Plan.Sweep.Label(k), Rec: sub, Sums: record.Summarize(sub), V: Judge(sub)})
	}
	return out
}

// writeSweep writes a sweep's summary: per figure a matrix of lanes × values, a Relative
// peak RSS per value, and each step's conclusion.
func writeSweep(b *strings.Builder, r *record.Record) {
	steps := SweepSteps(r)
	sw := r.Plan.Sweep
	fmt.Fprintf(b, "\n## Sweep of %s: %s\n", sw.Parameter, strings.Join(sw.Values, ", "))
	header := "| Lane |"
	rule := "|---|"
	for _, st := range steps {
		header += " " + mdCell(st.Label) + " |"
		rule += "---:|"
	}
	for _, f := range sweepFigures {
		fmt.Fprintf(b, "\n### %s\n\n%s\n%s\n", f.label, header, rule)
		for i, t := range r.Targets {
			fmt.Fprintf(b, "| %s |", mdCell(t.Name))
			for _, st := range steps {
				cell := Figure(f.get(st.Sums[i]), f.unit)
				if f.key != "" {
					cell += st.V.Mark(i, f.key)
				}
				fmt.Fprintf(b, " %s |", cell)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(b, "\n### Relative peak RSS (to %s at each value)\n\n%s\n%s\n", mdCell(firstOfEachServer(r)), header, rule)
	for i, t := range r.Targets {
		fmt.Fprintf(b, "| %s |", mdCell(t.Name))
		for _, st := range steps {
			fmt.Fprintf(b, " %s |", Ratio(st.Sums[i].PeakRSS, st.Sums[st.V.BaseOf(i)].PeakRSS))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n" + peakNote(steps[0].Sums) + " Each value's runs are summarised and tested on their own; * marks a difference from the first lane at that value.\n")
	b.WriteString("\n### Conclusion\n")
	for _, st := range steps {
		fmt.Fprintf(b, "\n**%s**\n\n", st.Label)
		for _, line := range st.V.Conclusions(st.Rec, st.Sums) {
			b.WriteString("- " + line + "\n")
		}
	}
}

// firstOfEachServer names the lane each server's relative figures divide by.
func firstOfEachServer(r *record.Record) string {
	var names []string
	for _, g := range record.ServerGroups(r) {
		names = append(names, r.Targets[g[0]].Name)
	}
	return strings.Join(names, ", ")
}
