package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/allocscope/allocscope/record"
)

// Cycled says whether any lane ran 2 cycles or more: only then is there retention to show.
func Cycled(sums []record.Summary) bool {
	for _, s := range sums {
		if s.Retention != nil && len(s.Retention.Cycles) >= 2 {
			return true
		}
	}
	return false
}

// writeRetention is the "Retention over cycles" section: per lane, how its memory grew
// from cycle to cycle and how soon it gave back what each load added, then each cycle.
func writeRetention(b *strings.Builder, sums []record.Summary) {
	if !Cycled(sums) {
		return
	}
	b.WriteString("\n### Retention over cycles\n\n")
	b.WriteString("| Target | Cycles | Growth after idle | Growth of peaks | Verdict | Half given back | 90% given back |\n")
	b.WriteString("|---|---:|---:|---:|---|---:|---:|\n")
	for _, s := range sums {
		r := s.Retention
		if r == nil {
			continue
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s |\n", mdCell(s.Target), len(r.Cycles), trendCell(r.Growth), trendCell(r.PeakGrowth),
			mdCell(r.Verdict), TypicalRelease(r, ReleaseHalf).String(), TypicalRelease(r, Release90).String())
	}
	b.WriteString("\n| Target | Cycle | Peak RSS | RSS after idle | RSS − LazyFree | Working-set peak | Retained / live | Half given back | 90% given back |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range sums {
		if s.Retention == nil {
			continue
		}
		for _, f := range s.Retention.Cycles {
			peak := "n/a"
			if f.PeakRSSBytes > 0 {
				peak = MiB(float64(f.PeakRSSBytes))
				if f.PeakSource == record.PeakSampled {
					peak = "≥ " + peak
				}
			}
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(s.Target), f.Index, peak,
				bytesOrNA(f.RSSAfterIdleBytes, f.AfterIdle > 0), bytesOrNA(f.HeldAfterIdleBytes, f.HeldAfterIdleBytes > 0),
				bytesOrNA(f.WorkingSetPeakBytes, f.WorkingSetPeakBytes > 0), ratioOrNA(f.RetainedRatio), f.ReleaseHalf, f.Release90)
		}
	}
	b.WriteString("\nGrowth is the Theil–Sen slope (the median of the slopes between every pair of cycles) of the RSS at the end of each idle, and of each cycle's peak, against time, with its 95% interval (Sen 1968): a lane is said to keep growing or to shrink only when the interval excludes 0. " +
		fmt.Sprintf("It levelled off after cycle k when from k's idle on its RSS after idle stayed within %s or %.0f%% of its median, the larger, for at least 2 cycles, and, over 3 or more, with no trend of their own. ", record.MiBString(record.LevelToleranceBytes), 100*record.LevelToleranceFraction) +
		"Given back: the time from the end of a load until RSS had fallen by half (and by 90%) of what the load added (the most RSS sampled under load less the last sample before it), read from the samples; kept: not within the idle. " +
		"RSS − LazyFree leaves out the pages given back with MADV_FREE that still count in RSS until the kernel needs them (/proc/PID/smaps_rollup). " +
		"The working set is the cgroup's usage less its inactive page cache, as the kubelet computes it (the number a Kubernetes memory limit is held against), sampled: a lower bound of its peak. " +
		"Retained / live is the allocator's committed bytes over what the program itself held at the idle's end (1.0: nothing spare; above 1.5: bloat); n/a where it held under " + record.MiBString(record.RetainedLiveFloor) + " live, whose ratio is the allocator's fixed overhead, not what it kept. Peak RSS is the kernel's high-water mark where it was reset at each cycle's start, else (≥) the largest sample.\n")
}

func trendCell(t record.Trend) string {
	if !t.Known() {
		return "n/a"
	}
	return t.String()
}

func bytesOrNA(b uint64, known bool) string {
	if !known {
		return "n/a"
	}
	return MiB(float64(b))
}

func ratioOrNA(r float64) string {
	if r <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", r)
}

// ReleaseHalf and Release90 pick a cycle's release figure, for TypicalRelease.
func ReleaseHalf(f record.CycleFigures) record.Release { return f.ReleaseHalf }
func Release90(f record.CycleFigures) record.Release   { return f.Release90 }

// TypicalRelease is the median over the cycles, a kept release counted as longer than
// any: a lane that kept it in most cycles kept it.
func TypicalRelease(r *record.Retention, of func(record.CycleFigures) record.Release) record.Release {
	return record.MedianRelease(r.Cycles, of)
}

// retentionConclusion is the lead sentence of a cycled record: "After 6 cycles of 60 s
// load and 60 s idle, system kept growing +9.1 MiB/h (5.2–13.0); jemalloc and mimalloc
// levelled off. jemalloc gave back half of its load memory in 4.0 s, system kept it."
func retentionConclusion(r *record.Record, v Verdict, sums []record.Summary) []string {
	p := r.Plan
	if !Cycled(sums) {
		return nil
	}
	var lead *record.Retention
	var runs []cycleRun
	for _, s := range sums {
		if s.Retention != nil {
			if lead == nil || len(s.Retention.Cycles) > len(lead.Cycles) {
				lead = s.Retention
			}
			runs = append(runs, cycleRun{s.Target, s.Retention})
		}
	}
	var clauses []string
	var levelled, unclear, few []string
	for _, c := range runs {
		g := c.r.Growth
		switch {
		case strings.HasPrefix(c.r.Verdict, "levelled off"):
			levelled = append(levelled, c.name)
		case !g.Known():
			few = append(few, c.name)
		case c.r.KeepsGrowing():
			clauses = append(clauses, c.name+" kept growing "+g.String())
		case c.r.Shrinking():
			clauses = append(clauses, c.name+" shrank "+g.String())
		default:
			unclear = append(unclear, c.name)
		}
	}
	if len(levelled) > 0 {
		clauses = append(clauses, andList(levelled)+" levelled off")
	}
	if len(unclear) > 0 {
		clauses = append(clauses, andList(unclear)+" showed no clear trend")
	}
	if len(few) > 0 {
		clauses = append(clauses, andList(few)+" ran too few cycles to tell")
	}
	sentence := fmt.Sprintf("After %d cycles%s, %s.", len(lead.Cycles), cycleShape(p, lead.Cycles[0]), strings.Join(clauses, "; "))
	var gave []string
	var kept []string
	for _, c := range runs {
		rel := TypicalRelease(c.r, ReleaseHalf)
		switch {
		case !rel.Known:
		case rel.Kept:
			kept = append(kept, c.name)
		case len(gave) == 0:
			gave = append(gave, c.name+" gave back half of its load memory in "+rel.String())
		default:
			gave = append(gave, c.name+" in "+rel.String())
		}
	}
	within := ""
	if idle := lead.Cycles[0].Idle; idle > 0 {
		within = " within the " + record.FormatDuration(idle) + " idle"
	}
	switch {
	case len(kept) == 0:
	case len(gave) > 0:
		gave[len(gave)-1] += "; " + andList(kept) + " did not" + within
	case len(kept) == 1:
		gave = append(gave, kept[0]+" did not give back half of its load memory"+within)
	default:
		gave = append(gave, "Neither "+strings.Join(kept[:len(kept)-1], ", ")+" nor "+kept[len(kept)-1]+" gave back half of its load memory"+within)
	}
	if len(gave) > 0 {
		sentence += " " + strings.Join(gave, ", ") + "."
	}
	return append([]string{sentence}, afterIdleAcross(r, v)...)
}

// afterIdleAcross is what the runs back of the lanes' RSS after idle, lane against its
// server's first lane: "Over 3 runs, jemalloc's RSS after idle is 0.62× system's
// (0.55–0.70, p = 0.001 after Holm; lower in 3 of 3 runs)." Nothing when there were too
// few runs to test: the growth and release figures above stand on their own. The growth
// slopes are never compared across lanes: each stands on its own interval.
func afterIdleAcross(r *record.Record, v Verdict) []string {
	if !v.Tested() {
		return nil
	}
	var differs, same []string
	var bases []string
	for _, c := range v.Comparisons {
		if c.Metric.Key != record.MetricRSSAfterIdle.Key {
			continue
		}
		name, base := r.Targets[c.Other].Name, r.Targets[c.Base].Name
		if !slices.Contains(bases, base) {
			bases = append(bases, base)
		}
		if c.Significant {
			dir := fmt.Sprintf("lower in %d of %d runs", c.Below, c.N)
			if c.Ratio > 1 {
				dir = fmt.Sprintf("higher in %d of %d runs", c.Above, c.N)
			}
			differs = append(differs, fmt.Sprintf("%s's RSS after idle is %.2f× %s's (%.2f–%.2f, p = %.2g after Holm; %s)", name, c.Ratio, base, c.Low, c.High, c.PHolm, dir))
			continue
		}
		same = append(same, undecided(name, c))
	}
	if len(differs) == 0 && len(same) == 0 {
		return nil
	}
	line := fmt.Sprintf("Over %d runs, ", v.Runs)
	whose := andList(bases) + "'s"
	switch {
	case len(differs) == 0:
		line += fmt.Sprintf("the RSS after idle shows no clear difference from %s (%s).", whose, strings.Join(same, "; "))
	case len(same) == 0:
		line += strings.Join(differs, "; ") + "."
	default:
		line += fmt.Sprintf("%s; no clear difference from %s for %s.", strings.Join(differs, "; "), whose, strings.Join(same, "; "))
	}
	return []string{line}
}

type cycleRun struct {
	name string
	r    *record.Retention
}

// cycleShape is " of 60 s load and 60 s idle", from the lead lane's first cycle.
// The load is named as asked (-d) where the measured one, the workers' start included,
// is longer by more than a second.
func cycleShape(p record.Plan, f record.CycleFigures) string {
	if f.Load == 0 || f.Idle == 0 {
		return ""
	}
	load := record.FormatDuration(f.Load) + " load"
	if p.Duration > 0 && p.Shape == "" && (f.Load-p.Duration > time.Second || p.Duration-f.Load > time.Second) {
		load = fmt.Sprintf("-d %s load (%s measured, the workers' start included)", p.Duration, record.FormatDuration(f.Load))
	}
	return " of " + load + " and " + record.FormatDuration(f.Idle) + " idle"
}

func andList(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
