package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/verdict"
)

// Verdict is what a record can back: which lanes were compared, against which baseline,
// and which differences are significant.
type Verdict struct {
	// Lanes are the compared targets' indices, each group's baseline first in its group;
	// lanes that crashed are never compared as if they had finished.
	Lanes []int
	// Groups are Lanes by the server they ran (record.ServerGroups): a comparison is
	// always within one group.
	Groups      [][]int
	Comparisons []verdict.Comparison
	// Runs is the number of repetitions every compared lane has.
	Runs int
	// Base is, for each target, the first target of its server group: what its relative
	// columns divide by.
	Base []int
}

// Judge compares every lane that finished with the first one of the same server that did:
// lanes of different servers differ by more than their allocator.
func Judge(r *record.Record) Verdict {
	v := Verdict{Runs: -1, Base: make([]int, len(r.Targets))}
	for _, group := range record.ServerGroups(r) {
		var lanes []int
		for _, i := range group {
			v.Base[i] = group[0]
			t := r.Targets[i]
			if crashed(t) || len(t.Runs) == 0 {
				continue
			}
			lanes = append(lanes, i)
			if v.Runs < 0 || len(t.Runs) < v.Runs {
				v.Runs = len(t.Runs)
			}
		}
		if len(lanes) == 0 {
			continue
		}
		v.Lanes = append(v.Lanes, lanes...)
		v.Groups = append(v.Groups, lanes)
		v.Comparisons = append(v.Comparisons, verdict.CompareAll(r, record.MetricsFor(r), lanes)...)
	}
	v.Runs = max(v.Runs, 0)
	return refuseBusy(r, v)
}

// group is v narrowed to one group of lanes.
func (v Verdict) group(lanes []int) Verdict {
	g := Verdict{Lanes: lanes, Groups: [][]int{lanes}, Runs: v.Runs, Base: v.Base}
	for _, c := range v.Comparisons {
		if slices.Contains(lanes, c.Other) {
			g.Comparisons = append(g.Comparisons, c)
		}
	}
	return g
}

// compared are the groups with two lanes or more.
func (v Verdict) compared() [][]int {
	var out [][]int
	for _, g := range v.Groups {
		if len(g) > 1 {
			out = append(out, g)
		}
	}
	return out
}

// crashed: the target's server crashed, or the load against it died or got no successful
// response, in some run.
func crashed(t record.Target) bool {
	for _, run := range t.Runs {
		if run.Exit.Crashed() || run.LoadError != "" || run.SourceError != "" || DeadLoad(run) {
			return true
		}
	}
	return false
}

// Tested says whether there were runs enough to test differences.
func (v Verdict) Tested() bool { return v.Runs >= verdict.MinRuns }

// Mark is " *" where target's metric differs significantly from the baseline's.
func (v Verdict) Mark(target int, metric string) string {
	for _, c := range v.Comparisons {
		if c.Other == target && c.Metric.Key == metric && c.Significant {
			return " *"
		}
	}
	return ""
}

// Footnote explains the marks, or is "" when nothing was tested.
func (v Verdict) Footnote(r *record.Record) string {
	groups := v.compared()
	if !v.Tested() || len(groups) == 0 {
		return ""
	}
	if len(groups) > 1 {
		var bases []string
		for _, g := range groups {
			bases = append(bases, r.Targets[g[0]].Name)
		}
		return fmt.Sprintf("\\* differs from the first lane of the same server (%s): a paired t-test on the log ratios of %d runs, Holm-corrected over each server's comparisons, p < %g, at least %.0f%% apart and the same way in every run; unmarked cells show no clear difference.",
			strings.Join(bases, ", "), v.Runs, verdict.Alpha, 100*verdict.MinEffect)
	}
	v = v.group(groups[0])
	// Holm's family is the comparisons that could be tested: a figure no run has (the
	// working set without --cgroup) is not one of them, as each reason line says.
	family := 0
	for _, c := range v.Comparisons {
		family = max(family, c.Family)
	}
	if family == 0 {
		family = len(v.Comparisons)
	}
	return fmt.Sprintf("\\* differs from %s: a paired t-test on the log ratios of %d runs, Holm-corrected over %d comparisons, p < %g, at least %.0f%% apart and the same way in every run; unmarked cells show no clear difference.",
		r.Targets[v.Lanes[0]].Name, v.Runs, family, verdict.Alpha, 100*verdict.MinEffect)
}

// lines are the Conclusion's comparison sentences, server group by server group.
func (v Verdict) lines(r *record.Record, sums []record.Summary) []string {
	var out []string
	groups := v.compared()
	if len(v.Groups) > 1 {
		var each []string
		for _, g := range v.Groups {
			names := make([]string, len(g))
			for k, i := range g {
				names[k] = r.Targets[i].Name
			}
			each = append(each, strings.Join(names, ", "))
		}
		out = append(out, fmt.Sprintf("These lanes ran %d different servers (%s): lanes of different servers differ by more than their allocator, so each is compared only with the lanes of its own server.",
			len(v.Groups), strings.Join(each, "; ")))
	}
	for k, g := range groups {
		lines := v.group(g).groupLines(r, sums)
		// One reminder of what cannot be told from noise is enough.
		if k < len(groups)-1 && !v.Tested() && len(lines) > 0 {
			lines = lines[:len(lines)-1]
		}
		out = append(out, lines...)
	}
	return out
}

// groupLines are the comparison sentences of a verdict narrowed to one server group.
func (v Verdict) groupLines(r *record.Record, sums []record.Summary) []string {
	if len(v.Lanes) < 2 {
		return nil
	}
	if !v.Tested() {
		return v.observed(r, sums)
	}
	base := r.Targets[v.Lanes[0]].Name
	var out []string
	for _, m := range record.MetricsFor(r) {
		// The retention conclusion says it, beside the growth it qualifies.
		if m.Key == record.MetricRSSAfterIdle.Key && Cycled(sums) {
			continue
		}
		var differs, same []string
		for _, c := range v.Comparisons {
			if c.Metric.Key != m.Key {
				continue
			}
			name := r.Targets[c.Other].Name
			if c.Significant {
				dir := fmt.Sprintf("lower in %d of %d runs", c.Below, c.N)
				if c.Ratio > 1 {
					dir = fmt.Sprintf("higher in %d of %d runs", c.Above, c.N)
				}
				differs = append(differs, fmt.Sprintf("%s's is %.2f× %s's (%.2f–%.2f; %s)", name, c.Ratio, base, c.Low, c.High, dir))
			} else {
				same = append(same, undecided(name, c))
			}
		}
		switch {
		case len(differs) == 0 && len(same) == 0:
			continue
		case len(differs) == 0:
			out = append(out, fmt.Sprintf("%s: no clear difference from %s's (%s).", m.Label, base, strings.Join(same, "; ")))
		case len(same) == 0:
			out = append(out, fmt.Sprintf("%s: %s.", m.Label, strings.Join(differs, "; ")))
		default:
			out = append(out, fmt.Sprintf("%s: %s; no clear difference for %s.", m.Label, strings.Join(differs, "; "), strings.Join(same, "; ")))
		}
	}
	return out
}

// undecided words a comparison that was not called: "jemalloc 1.02×, 0.99–1.05", and where
// its interval excludes 1 the rule that held it back ("…, but under the 1% minimum"); a
// single run has no interval.
func undecided(name string, c verdict.Comparison) string {
	if !c.Interval() {
		return fmt.Sprintf("%s %.2f× in %d run", name, c.Ratio, c.N)
	}
	s := fmt.Sprintf("%s %.2f×, %.2f–%.2f", name, c.Ratio, c.Low, c.High)
	if why := c.Why(); why != "" {
		s += ", but " + why
	}
	return s
}

// observed words what one or two runs showed, without claiming it would hold again.
func (v Verdict) observed(r *record.Record, sums []record.Summary) []string {
	var out []string
	prefix := "In this run"
	if v.Runs > 1 {
		prefix = fmt.Sprintf("Over these %d runs (medians)", v.Runs)
	}
	for _, m := range record.MetricsFor(r) {
		// A cycled run's figures are not in the summary: they come from the lane's runs.
		get := func(i int) record.Figure {
			if f := sums[i].Figure(m); f.Known() {
				return f
			}
			return m.Figure(r.Targets[i])
		}
		var known []int
		for _, i := range v.Lanes {
			if get(i).Known() {
				known = append(known, i)
			}
		}
		if len(known) < 2 {
			continue
		}
		sort.SliceStable(known, func(i, j int) bool {
			if m.LowerIsBetter {
				return get(known[i]).Median < get(known[j]).Median
			}
			return get(known[i]).Median > get(known[j]).Median
		})
		best, worst := sums[known[0]], sums[known[len(known)-1]]
		bv, wv := get(known[0]).Median, get(known[len(known)-1]).Median
		unit := unitFormat(m.Unit)
		word := "lowest"
		if !m.LowerIsBetter {
			word = "highest"
		}
		line := fmt.Sprintf("%s, %s had the %s %s (%s)", prefix, best.Target, word, LowerFirst(m.Label), unit(bv))
		if bv > 0 && wv > 0 {
			line += fmt.Sprintf("; %s had %s, %.2f× as much", worst.Target, unit(wv), wv/bv)
		}
		out = append(out, line+".")
	}
	runs := "One run"
	if v.Runs == 2 {
		runs = "Two runs"
	}
	out = append(out, fmt.Sprintf("%s cannot tell these differences from noise: run with --runs %d or more to test them (--runs 5 or more to call differences of a few percent).", runs, verdict.MinRuns))
	return out
}

func unitFormat(u record.Unit) func(float64) string {
	switch u {
	case record.UnitBytes:
		return MiB
	case record.UnitRate:
		return func(v float64) string { return Rate(v) + " req/s" }
	case record.UnitNanoseconds:
		return Millis
	}
	return Count
}

// LowerFirst lowers a label's first letter for use inside a sentence: "Peak RSS" →
// "peak RSS", "Throughput" → "throughput"; acronyms stay.
func LowerFirst(s string) string {
	if len(s) > 1 && s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z') {
		return string(s[0]+'a'-'A') + s[1:]
	}
	return s
}

// PeakCell renders a summary's peak RSS with what kind of bound it is: "≤" for a process
// tree's sum of peaks, "≥" for a peak only sampled.
func PeakCell(f record.Figure, s record.Summary) string {
	cell := Figure(f, MiB)
	if !f.Known() {
		return cell
	}
	switch {
	case s.PeakUpperBound:
		return "≤ " + cell
	case s.PeakSource == record.PeakSampled:
		return "≥ " + cell
	}
	return cell
}

// BaseOf is the target that target i's relative columns divide by: the first of its
// server's lanes (the first target in a verdict made without the record).
func (v Verdict) BaseOf(i int) int {
	if i < len(v.Base) {
		return v.Base[i]
	}
	return 0
}
