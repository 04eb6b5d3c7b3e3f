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
	// Bytes.
	PeakRSS          Figure `json:"peak_rss"`
	MeanRSSLoad      Figure `json:"mean_rss_under_load"`
	RSSAfterCooldown Figure `json:"rss_after_cooldown"`
	PeakVSZ          Figure `json:"peak_vsz"`
	HeapInUse        Figure `json:"heap_in_use"`
	BinaryBytes      Figure `json:"binary_size"`
	// Rates and counts.
	ReqPerSec Figure `json:"req_per_sec"`
	Errors    Figure `json:"errors"`
	// Nanoseconds.
	P50 Figure `json:"p50"`
	P99 Figure `json:"p99"`
	// Exit says how the target ended where it crashed ("" otherwise).
	Crash string `json:"crash,omitempty"`
}

// Summarize computes every target's summary.
func Summarize(r *Record) []Summary {
	out := make([]Summary, 0, len(r.Targets))
	for _, t := range r.Targets {
		s := Summary{Target: t.Name, Allocator: t.Allocator}
		var peak, mean, after, vsz, heap, rps, errs, p50, p99 []float64
		for _, run := range t.Runs {
			if v, ok := maxOf(run.Samples, func(s Sample) float64 { return float64(s.RSSBytes) }); ok {
				peak = append(peak, v)
			}
			if v, ok := maxOf(run.Samples, func(s Sample) float64 { return float64(s.VSZBytes) }); ok {
				vsz = append(vsz, v)
			}
			if v, ok := meanUnderLoad(run); ok {
				mean = append(mean, v)
			}
			if v, ok := afterCooldown(run); ok {
				after = append(after, v)
			}
			if v, ok := heapInUse(run); ok {
				heap = append(heap, v)
			}
			if run.Result != nil {
				rps = append(rps, run.Result.ReqPerSec)
				errs = append(errs, float64(run.Result.ErrorCount()))
				if run.Result.Requests > 0 {
					p50 = append(p50, float64(run.Result.P50))
					p99 = append(p99, float64(run.Result.P99))
				}
			}
			if run.Exit.Crashed() {
				s.Crash = run.Exit.String()
			}
		}
		s.PeakRSS, s.MeanRSSLoad, s.RSSAfterCooldown, s.PeakVSZ = figure(peak), figure(mean), figure(after), figure(vsz)
		s.HeapInUse, s.ReqPerSec, s.Errors, s.P50, s.P99 = figure(heap), figure(rps), figure(errs), figure(p50), figure(p99)
		if t.BinaryBytes > 0 {
			s.BinaryBytes = figure([]float64{float64(t.BinaryBytes)})
		}
		out = append(out, s)
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

// afterCooldown is the last RSS reading once the cooldown has run its course.
func afterCooldown(run TargetRun) (float64, bool) {
	if run.Phases.CooldownEnd == 0 || len(run.Samples) == 0 {
		return 0, false
	}
	last := run.Samples[len(run.Samples)-1]
	if last.T < run.Phases.LoadEnd {
		return 0, false
	}
	return float64(last.RSSBytes), true
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
