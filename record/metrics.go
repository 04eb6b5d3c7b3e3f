package record

import (
	"math"
	"sort"
	"time"
)

// Unit is what a metric counts.
type Unit int

// Units of the metrics.
const (
	UnitBytes Unit = iota
	UnitRate
	UnitNanoseconds
	UnitCount
)

// Metric is one figure that can be compared between lanes, run by run.
type Metric struct {
	// Key names it in JSON and on the command line (peak_rss).
	Key string
	// Label names it in sentences and table headings (Peak RSS).
	Label         string
	Unit          Unit
	LowerIsBetter bool
	// Of is the figure of one run; false where the run did not measure it.
	Of func(TargetRun) (float64, bool)
}

// The compared metrics.
var (
	MetricPeakRSS = Metric{"peak_rss", "Peak RSS", UnitBytes, true, func(r TargetRun) (float64, bool) {
		v, _, _, ok := runPeak(r)
		return v, ok
	}}
	MetricMeanRSSLoad      = Metric{"mean_rss_load", "Mean RSS under load", UnitBytes, true, meanUnderLoad}
	MetricRSSAfterCooldown = Metric{"rss_after_cooldown", "RSS after cooldown", UnitBytes, true, afterCooldown}
	MetricPeakVSZ          = Metric{"peak_vsz", "Peak VSZ", UnitBytes, true, func(r TargetRun) (float64, bool) {
		// A live process always maps something: 0 is a source that gives no VSZ (a remote
		// lane's exporter), unknown rather than the lowest.
		v, ok := maxOf(r.Samples, func(s Sample) float64 { return float64(s.VSZBytes) })
		return v, ok && v > 0
	}}
	MetricReqPerSec = Metric{"rps", "Throughput", UnitRate, false, func(r TargetRun) (float64, bool) {
		if r.Result == nil {
			return 0, false
		}
		return r.Result.ReqPerSec, true
	}}
	MetricP99 = Metric{"p99", "p99 latency", UnitNanoseconds, true, func(r TargetRun) (float64, bool) {
		if !r.Result.HasPercentiles() {
			return 0, false
		}
		return float64(r.Result.P99), true
	}}
)

// MetricCgroupPeak is the kernel's peak of the lane's memory cgroup (--cgroup): its
// working set as a container's limit sees it, page cache and kernel memory included.
var MetricCgroupPeak = Metric{"cgroup_peak", "Cgroup peak", UnitBytes, true, func(r TargetRun) (float64, bool) {
	if r.Cgroup == nil || r.Cgroup.PeakBytes == 0 {
		return 0, false
	}
	return float64(r.Cgroup.PeakBytes), true
}}

// ComparedMetrics are the figures a conclusion compares, in its order.
var ComparedMetrics = []Metric{MetricPeakRSS, MetricMeanRSSLoad, MetricRSSAfterCooldown, MetricPeakVSZ, MetricReqPerSec, MetricP99}

// Values is the metric for each run of t, in run order; ok[i] says whether run i has it.
func (m Metric) Values(t Target) (v []float64, ok []bool) {
	v, ok = make([]float64, len(t.Runs)), make([]bool, len(t.Runs))
	for i, run := range t.Runs {
		v[i], ok[i] = m.Of(run)
		if math.IsNaN(v[i]) || math.IsInf(v[i], 0) {
			ok[i] = false
		}
	}
	return v, ok
}

// Figure is the metric over t's runs: their median, least and most.
func (m Metric) Figure(t Target) Figure { return figure(m.present(t)) }

// present is the metric of each of t's runs that has it.
func (m Metric) present(t Target) []float64 {
	v, ok := m.Values(t)
	var xs []float64
	for i := range v {
		if ok[i] {
			xs = append(xs, v[i])
		}
	}
	return xs
}

// Median is the median of t's runs that have the metric, NaN when none has.
func (m Metric) Median(t Target) float64 {
	xs := m.present(t)
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// The figures of a cycled run (run --cycles, --soak), each the median over the run's
// cycles so that one run gives one value and lanes compare run by run like any other
// figure. The growth slope is not among them: it can be 0 or below, which no log ratio
// takes, and it stands on its own Theil–Sen interval (Retention.Growth).
var (
	MetricRSSAfterIdle = Metric{"rss_after_idle", "RSS after idle", UnitBytes, true, cycleMedian(func(f CycleFigures) (float64, bool) {
		return float64(f.RSSAfterIdleBytes), f.AfterIdle > 0
	})}
	MetricCyclePeakRSS = Metric{"cycle_peak_rss", "Peak RSS per cycle", UnitBytes, true, cycleMedian(func(f CycleFigures) (float64, bool) {
		return float64(f.PeakRSSBytes), f.PeakRSSBytes > 0
	})}
	// MetricReleaseHalf is the median time to give back half of what each load added. A
	// cycle that kept it counts as longer than any (it had not given it back by the idle's
	// end), so the median is exact while fewer than half the cycles kept it; a run whose
	// median is "kept" has no value, rather than a made-up time: its lane is then compared
	// over the runs that gave back, and the report says which kept.
	MetricReleaseHalf = Metric{"release_half", "Time to give back half", UnitNanoseconds, true, func(r TargetRun) (float64, bool) {
		ret := RetentionOf(r)
		if ret == nil || len(ret.Cycles) < 2 {
			return 0, false
		}
		rel := MedianRelease(ret.Cycles, func(f CycleFigures) Release { return f.ReleaseHalf })
		if !rel.Known || rel.Kept {
			return 0, false
		}
		return float64(rel.After), true
	}}
	// MetricCycleWorkingSet is the median of the cycles' sampled working-set peaks
	// (--cgroup): what a container's limit is held against, cycle by cycle.
	MetricCycleWorkingSet = Metric{"cycle_working_set_peak", "Working-set peak per cycle", UnitBytes, true, cycleMedian(func(f CycleFigures) (float64, bool) {
		return float64(f.WorkingSetPeakBytes), f.WorkingSetPeakBytes > 0
	})}
)

// CycleMetrics are the compared figures of a cycled record, after ComparedMetrics.
var CycleMetrics = []Metric{MetricRSSAfterIdle, MetricCyclePeakRSS, MetricReleaseHalf, MetricCycleWorkingSet}

// AllMetrics are every figure that can be compared or gated on, in order.
var AllMetrics = append(append([]Metric(nil), ComparedMetrics...), CycleMetrics...)

// MetricsFor are the figures compared across the lanes of these records: ComparedMetrics,
// and CycleMetrics where some run of them ran 2 cycles or more, as the retention a report
// shows needs.
func MetricsFor(recs ...*Record) []Metric {
	for _, r := range recs {
		if Cycled(r) {
			return AllMetrics
		}
	}
	return ComparedMetrics
}

// Cycled says whether some run of r ran 2 cycles or more.
func Cycled(r *Record) bool {
	if r == nil {
		return false
	}
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			if len(run.Cycles) >= 2 {
				return true
			}
		}
	}
	return false
}

// cycleMedian is a figure of a run with 2 cycles or more: the median over its cycles of
// what of finds; false where no cycle has it.
func cycleMedian(of func(CycleFigures) (float64, bool)) func(TargetRun) (float64, bool) {
	return func(r TargetRun) (float64, bool) {
		ret := RetentionOf(r)
		if ret == nil || len(ret.Cycles) < 2 {
			return 0, false
		}
		var v []float64
		for _, f := range ret.Cycles {
			if x, ok := of(f); ok {
				v = append(v, x)
			}
		}
		if len(v) == 0 {
			return 0, false
		}
		return median(v), true
	}
}

// MedianRelease is the median over the cycles of a release figure, a kept release counted
// as longer than any: a lane that kept it in most cycles kept it.
func MedianRelease(cycles []CycleFigures, of func(CycleFigures) Release) Release {
	var v []float64
	for _, f := range cycles {
		switch rel := of(f); {
		case !rel.Known:
		case rel.Kept:
			v = append(v, math.Inf(1))
		default:
			v = append(v, float64(rel.After))
		}
	}
	if len(v) == 0 {
		return Release{}
	}
	m := median(v)
	if math.IsInf(m, 1) {
		return Release{Kept: true, Known: true}
	}
	return Release{After: time.Duration(m), Known: true}
}
