package record

import (
	"math"
	"sort"
	"time"
)

// Figure is one summary figure over the runs: median, min and max.
type Figure struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// N is how many runs had the figure; 0 means unknown.
	N int `json:"n"`
}

// Known says whether any run had the figure.
func (f Figure) Known() bool { return f.N > 0 }

func figure(values []float64) Figure {
	if len(values) == 0 {
		return Figure{}
	}
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Figure{Median: med, Min: v[0], Max: v[len(v)-1], N: len(v)}
}

// Summary is a target's figures, as in the summary table of the Markdown report and the TUI.
type Summary struct {
	Target    string `json:"target"`
	Allocator string `json:"allocator"`
	// Bytes. PeakRSS is the whole run's, PeakRSSLoad and PeakRSSCooldown each phase's:
	// the kernel's high-water marks where it gave them (see PeakSource).
	PeakRSS          Figure `json:"peak_rss"`
	PeakRSSLoad      Figure `json:"peak_rss_load"`
	PeakRSSCooldown  Figure `json:"peak_rss_cooldown"`
	MeanRSSLoad      Figure `json:"mean_rss_under_load"`
	RSSAfterCooldown Figure `json:"rss_after_cooldown"`
	// RSSAfterPurge is the RSS at the end of the purge phase (--purge), and LiveAfterPurge
	// the heap the program itself held then: what no purge can give back.
	RSSAfterPurge  Figure `json:"rss_after_purge"`
	LiveAfterPurge Figure `json:"live_after_purge"`
	PeakVSZ        Figure `json:"peak_vsz"`
	HeapInUse      Figure `json:"heap_in_use"`
	BinaryBytes    Figure `json:"binary_size"`
	// Rates and counts.
	ReqPerSec Figure `json:"req_per_sec"`
	Errors    Figure `json:"errors"`
	// Nanoseconds.
	P50 Figure `json:"p50"`
	P99 Figure `json:"p99"`
	// Threads is the most threads the target ran with under load, as measured.
	Threads Figure `json:"threads"`
	// PeakSource is where the peaks come from: the least exact source of any run.
	PeakSource PeakSource `json:"peak_source,omitempty"`
	// PeakUpperBound: a process tree's peak, the sum of its members' peaks.
	PeakUpperBound bool `json:"peak_upper_bound,omitempty"`
	// PeakResetRefused: the kernel refused to reset the high-water mark in some phase.
	PeakResetRefused bool `json:"peak_reset_refused,omitempty"`
	// Exit says how the target ended where it crashed ("" otherwise).
	Crash string `json:"crash,omitempty"`
	// LoadError says why its load ended without a result ("" otherwise).
	LoadError string `json:"load_error,omitempty"`
	// SourceError says why a remote target's memory source stopped answering.
	SourceError string `json:"source_error,omitempty"`
	// CgroupPeak is the kernel's peak of the target's memory cgroup (bytes), CgroupLimit
	// its limit (0: none), OOMKills the OOM kills in it, and OOM the first OOM kill that
	// ended the target ("" when none did).
	CgroupPeak  Figure `json:"cgroup_peak"`
	CgroupLimit uint64 `json:"cgroup_limit,omitempty"`
	OOMKills    Figure `json:"oom_kills"`
	OOM         string `json:"oom,omitempty"`
	// Retention is the first cycled run's retention over its cycles (run --cycles,
	// --soak); nil without cycles.
	Retention *Retention `json:"retention,omitempty"`
	// CgroupWorkingSetPeak is the most working set sampled in the target's cgroup, as the
	// kubelet computes it (bytes; sampled: a lower bound).
	CgroupWorkingSetPeak Figure `json:"cgroup_working_set_peak"`
}

// Figure is the summary's figure for a compared metric (an unknown Figure for others).
func (s Summary) Figure(m Metric) Figure {
	return map[string]Figure{
		MetricPeakRSS.Key: s.PeakRSS, MetricMeanRSSLoad.Key: s.MeanRSSLoad, MetricRSSAfterCooldown.Key: s.RSSAfterCooldown,
		MetricPeakVSZ.Key: s.PeakVSZ, MetricReqPerSec.Key: s.ReqPerSec, MetricP99.Key: s.P99,
	}[m.Key]
}

// Summarize computes every target's summary.
func Summarize(r *Record) []Summary {
	out := make([]Summary, 0, len(r.Targets))
	for _, t := range r.Targets {
		s := Summary{Target: t.Name, Allocator: t.Allocator}
		var peak, peakLoad, peakCool, threads, mean, after, vsz, heap, rps, errs, p50, p99, cgPeak, kills, purged, live, wsPeak []float64
		for _, run := range t.Runs {
			if v, src, upper, ok := runPeak(run); ok {
				peak = append(peak, v)
				s.PeakSource = lessExact(s.PeakSource, src)
				s.PeakUpperBound = s.PeakUpperBound || upper
			}
			for _, p := range run.Peaks {
				s.PeakResetRefused = s.PeakResetRefused || p.Source == PeakKernelSinceStart
			}
			if p, ok := run.Peaks[PhaseLoad]; ok {
				peakLoad = append(peakLoad, float64(p.Bytes))
			}
			if p, ok := run.Peaks[PhaseCooldown]; ok {
				peakCool = append(peakCool, float64(p.Bytes))
			}
			// A remote lane's source gives no thread count: unknown, not zero.
			if v, ok := maxOf(loadSamples(run), func(s Sample) float64 { return float64(s.Threads) }); ok && v > 0 {
				threads = append(threads, v)
			}
			appendOf(&vsz, MetricPeakVSZ, run)
			appendOf(&mean, MetricMeanRSSLoad, run)
			appendOf(&after, MetricRSSAfterCooldown, run)
			if rss, l, ok := afterPurge(run); ok {
				purged, live = append(purged, rss), append(live, l)
			}
			if v, ok := heapInUse(run); ok {
				heap = append(heap, v)
			}
			appendOf(&rps, MetricReqPerSec, run)
			appendOf(&p99, MetricP99, run)
			if run.Result != nil {
				errs = append(errs, float64(run.Result.ErrorCount()))
				if run.Result.HasPercentiles() {
					p50 = append(p50, float64(run.Result.P50))
				}
			}
			if run.Exit.Crashed() {
				s.Crash = run.Exit.String()
			}
			if run.LoadError != "" {
				s.LoadError = run.LoadError
			}
			if run.SourceError != "" {
				s.SourceError = run.SourceError
			}
			if s.Retention == nil {
				s.Retention = RetentionOf(run)
			}
			if c := run.Cgroup; c != nil {
				if c.WorkingSetPeakBytes > 0 {
					wsPeak = append(wsPeak, float64(c.WorkingSetPeakBytes))
				}
				cgPeak = append(cgPeak, float64(c.PeakBytes))
				kills = append(kills, float64(c.Events.OOMKill))
				s.CgroupLimit = c.LimitBytes
			}
			if run.Exit != nil && run.Exit.OOM != nil && s.OOM == "" {
				s.OOM = run.Exit.OOM.String()
			}
		}
		s.CgroupPeak, s.OOMKills, s.CgroupWorkingSetPeak = figure(cgPeak), figure(kills), figure(wsPeak)
		s.RSSAfterPurge, s.LiveAfterPurge = figure(purged), figure(live)
		s.PeakRSS, s.MeanRSSLoad, s.RSSAfterCooldown, s.PeakVSZ = figure(peak), figure(mean), figure(after), figure(vsz)
		s.PeakRSSLoad, s.PeakRSSCooldown, s.Threads = figure(peakLoad), figure(peakCool), figure(threads)
		s.HeapInUse, s.ReqPerSec, s.Errors, s.P50, s.P99 = figure(heap), figure(rps), figure(errs), figure(p50), figure(p99)
		if t.BinaryBytes > 0 {
			s.BinaryBytes = figure([]float64{float64(t.BinaryBytes)})
		}
		out = append(out, s)
	}
	return out
}

// AnyPurged says whether any target has an RSS after purge: the run had a purge phase.
func AnyPurged(sums []Summary) bool {
	for _, s := range sums {
		if s.RSSAfterPurge.Known() {
			return true
		}
	}
	return false
}

func appendOf(dst *[]float64, m Metric, run TargetRun) {
	if v, ok := m.Of(run); ok {
		*dst = append(*dst, v)
	}
}

// runPeak is a run's whole peak: the largest of its phases' peaks, or, in a record made
// before phases had peaks, the largest sample.
func runPeak(run TargetRun) (v float64, source PeakSource, upperBound bool, ok bool) {
	// The whole run's peak is the highest phase's: its source is the figure's.
	for _, p := range run.Peaks {
		if !ok || float64(p.Bytes) > v || (float64(p.Bytes) == v && lessExact(source, p.Source) == p.Source) {
			v, source = float64(p.Bytes), p.Source
		}
		upperBound = upperBound || p.UpperBound
		ok = true
	}
	// The sampled series can only hold more than a kernel peak when no peak covers its moment.
	if m, found := maxOf(run.Samples, func(s Sample) float64 { return float64(s.RSSBytes) }); found {
		if !ok {
			return m, PeakSampled, false, true
		}
		v = math.Max(v, m)
	}
	return v, source, upperBound, ok
}

// lessExact returns the less exact of two peak sources ("" is no source yet).
func lessExact(a, b PeakSource) PeakSource {
	rank := map[PeakSource]int{"": -1, PeakKernel: 0, PeakKernelSinceStart: 1, PeakSampled: 2}
	if _, known := rank[b]; !known {
		b = PeakSampled
	}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// loadSamples are the samples taken under load.
func loadSamples(run TargetRun) []Sample {
	var out []Sample
	for _, s := range run.Samples {
		if inLoad(run.Phases, s.T) {
			out = append(out, s)
		}
	}
	return out
}

func maxOf(samples []Sample, f func(Sample) float64) (float64, bool) {
	if len(samples) == 0 {
		return 0, false
	}
	m := math.Inf(-1)
	for _, s := range samples {
		m = math.Max(m, f(s))
	}
	return m, true
}

func inLoad(p Phases, t time.Duration) bool {
	return p.LoadStart > 0 && t >= p.LoadStart && (p.LoadEnd == 0 || t <= p.LoadEnd)
}

func meanUnderLoad(run TargetRun) (float64, bool) {
	var sum float64
	var n int
	for _, s := range run.Samples {
		if inLoad(run.Phases, s.T) {
			sum += float64(s.RSSBytes)
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// afterCooldown is the last RSS reading once the cooldown has run its course (before
// any purge phase).
func afterCooldown(run TargetRun) (float64, bool) {
	if run.Phases.CooldownEnd == 0 || len(run.Samples) == 0 {
		return 0, false
	}
	last, ok := lastBefore(run.Samples, run.Phases.CooldownEnd)
	if !ok || last.T < run.Phases.LoadEnd {
		return 0, false
	}
	return float64(last.RSSBytes), true
}

// lastBefore is the last sample at or before t.
func lastBefore(samples []Sample, t time.Duration) (Sample, bool) {
	// In time order: the first sample after t, less one.
	i := sort.Search(len(samples), func(i int) bool { return samples[i].T > t })
	if i == 0 {
		return Sample{}, false
	}
	return samples[i-1], true
}

// afterPurge is the last RSS reading of the purge phase (--purge), once the allocator
// was asked to give memory back, and the heap the program held then.
func afterPurge(run TargetRun) (rss, live float64, ok bool) {
	if run.Phases.PurgeEnd == 0 || len(run.Purges) == 0 {
		return 0, 0, false
	}
	last, found := lastBefore(run.Samples, run.Phases.PurgeEnd)
	if !found || last.T < run.Purges[0].T {
		return 0, 0, false
	}
	for i := len(run.Heap) - 1; i >= 0; i-- {
		if h := run.Heap[i]; h.T <= run.Phases.PurgeEnd {
			live = float64(h.LiveBytes)
			break
		}
	}
	return float64(last.RSSBytes), live, true
}

// heapInUse is the most the allocator reported handing out while the load ran.
func heapInUse(run TargetRun) (float64, bool) {
	var m float64
	found := false
	for _, h := range run.Heap {
		if h.AllocatedBytes != nil && inLoad(run.Phases, h.T) {
			m = math.Max(m, float64(*h.AllocatedBytes))
			found = true
		}
	}
	return m, found
}
