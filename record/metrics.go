package record

import (
	"math"
	"sort"
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

// Median is the median of t's runs that have the metric, NaN when none has.
func (m Metric) Median(t Target) float64 {
	v, ok := m.Values(t)
	var xs []float64
	for i := range v {
		if ok[i] {
			xs = append(xs, v[i])
		}
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}
