package report

import (
	"fmt"
	"strings"

	"github.com/allocscope/allocscope/record"
)

// The busy rule: a run during which other work took more than record.BusyOtherPct of the
// machine's CPU is not compared, in a verdict, compare or a --fail-if gate, unless the
// reader passed --allow-busy (record.AllowBusy).

// BusyMachine is "the machine was busy with other work (63% of its CPU)", or "" for a
// run that was not busy or whose other work was not measured.
func BusyMachine(r *record.Record) string {
	in := r.Interference
	if in == nil || !in.Busy {
		return ""
	}
	return fmt.Sprintf("the machine was busy with other work (%.0f%% of its CPU)", in.MeanOtherPct)
}

// busyRefusal is the line that says why the run is not compared, or "" when it may be.
func busyRefusal(r *record.Record) string {
	if !r.Interference.Refuses() {
		return ""
	}
	return "Not compared: " + BusyMachine(r) + " during this run; rerun on a quiet machine or pass --allow-busy."
}

// refuseBusy leaves a busy run's verdict with no lanes to compare: no marks, no
// footnote, no comparison sentences.
func refuseBusy(r *record.Record, v Verdict) Verdict {
	if r.Interference.Refuses() {
		v.Lanes, v.Groups, v.Comparisons = nil, nil, nil
	}
	return v
}

// busyConclusion is the Conclusion's first sentence for a busy run.
func busyConclusion(r *record.Record) []string {
	if line := busyRefusal(r); line != "" {
		return []string{line}
	}
	if b := BusyMachine(r); b != "" {
		return []string{fmt.Sprintf("%s under load (up to %.0f%%); compared all the same (--allow-busy): the differences may be the other work's, not the allocators'.",
			upperFirst(b), r.Interference.MaxOtherPct)}
	}
	return nil
}

// writeBusy is the Markdown's warning at the top of a busy run's report.
func writeBusy(b *strings.Builder, r *record.Record) {
	if m := BusyMachine(r); m != "" {
		fmt.Fprintf(b, "> **Warning: %s** on average under load, up to %.0f%% (of all its cores together): the servers and the load generators shared the cores with it, so the figures are not this machine's at rest. %s\n\n",
			m, r.Interference.MaxOtherPct, refusedOrAllowed(r))
	}
}

func refusedOrAllowed(r *record.Record) string {
	if r.Interference.Refuses() {
		return "The lanes are not compared: rerun on a quiet machine or pass --allow-busy."
	}
	return "The lanes are compared all the same (--allow-busy)."
}

// cpuSplit says how the machine's CPU was shared under load, for the Load test section.
func cpuSplit(r *record.Record) string {
	mean, n, ok := machineCPU(r)
	if !ok {
		return ""
	}
	return fmt.Sprintf("CPU under load, in %% of the machine's (all %d cores = 100%%), mean of %d readings: servers %.0f%%, load generators %.0f%%, allocscope %.0f%%, interrupts %.0f%%, other work %.0f%% (up to %.0f%%).\n",
		r.Machine.Cores, n, mean.ServersPct, mean.GeneratorsPct, mean.AllocscopePct, mean.IRQPct, mean.OtherPct, r.Interference.MaxOtherPct)
}

// machineCPU is the mean split of the machine's CPU over the readings under load, each
// part in % of all cores: the one source of the CPU figures wherever the record has it.
func machineCPU(r *record.Record) (mean record.CPUShare, n int, ok bool) {
	if r.Interference == nil {
		return mean, 0, false
	}
	under := r.Interference.UnderLoad(r)
	if len(under) == 0 {
		return mean, 0, false
	}
	k := float64(len(under))
	for _, s := range under {
		mean.OtherPct += s.OtherPct / k
		mean.ServersPct += s.ServersPct / k
		mean.GeneratorsPct += s.GeneratorsPct / k
		mean.AllocscopePct += s.AllocscopePct / k
		mean.IRQPct += s.IRQPct / k
	}
	return mean, len(under), true
}

// compareBusy lists, for each record that was busy, why none of it is compared.
func compareBusy(recs ...Named) []string {
	var out []string
	for _, n := range recs {
		if n.Rec.Interference.Refuses() {
			out = append(out, fmt.Sprintf("Not compared: %s during %s; rerun on a quiet machine or pass --allow-busy.", BusyMachine(n.Rec), n.Name))
		}
	}
	return out
}

// refuseBusyCompare keeps a comparison of busy records from calling any difference.
func refuseBusyCompare(c *Compared) {
	if c.Refused = compareBusy(append([]Named{c.Base}, c.Others...)...); len(c.Refused) > 0 {
		c.Figures, c.Tested = nil, false
	}
}

// refusedLegend is what a comparison of busy records says instead of its legend.
func refusedLegend(c *Compared) string {
	var b strings.Builder
	for _, line := range c.Refused {
		b.WriteString(Printable(line) + "\n")
	}
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
