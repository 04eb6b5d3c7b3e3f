package record

import "time"

// SeriesPoint is one value of a time series, at offset T from the record's start.
type SeriesPoint struct {
	T time.Duration
	V float64
}

// Series is a figure over time in display units: what the TUI's chart and the slide
// charts draw, defined once for both.
type Series struct {
	// Key is the name --metric takes; Name the TUI's short title; Label a slide's axis.
	Key, Name, Label, Unit string
	Of                     func(TargetRun) []SeriesPoint
}

// AllSeries are the series in the order the TUI's m cycles through them.
var AllSeries = []Series{
	{"rss", "RSS", "RSS", "MiB", everySample(func(s Sample) uint64 { return s.RSSBytes })},
	{"vsz", "VSZ", "VSZ", "MiB", everySample(func(s Sample) uint64 { return s.VSZBytes })},
	// PSS is read less often than RSS, and a cgroup only with --cgroup: a 0 is no reading.
	{"pss", "PSS", "PSS", "MiB", readSamples(func(s Sample) uint64 { return s.PSSBytes })},
	{"cgroup", "cgroup", "cgroup memory", "MiB", readSamples(func(s Sample) uint64 { return s.CgroupBytes })},
	{"heap", "heap in use", "heap in use", "MiB", func(r TargetRun) []SeriesPoint {
		out := make([]SeriesPoint, 0, len(r.Heap))
		for _, h := range r.Heap {
			v := h.LiveBytes
			if h.AllocatedBytes != nil {
				v = *h.AllocatedBytes
			}
			out = append(out, SeriesPoint{h.T, mebibytes(v)})
		}
		return out
	}},
	{"cpu", "CPU", "CPU", "%", func(r TargetRun) []SeriesPoint {
		out := make([]SeriesPoint, 0, len(r.Samples))
		for _, s := range r.Samples {
			out = append(out, SeriesPoint{s.T, s.CPUPercent})
		}
		return out
	}},
	{"rps", "req/s", "throughput", "req/s", func(r TargetRun) []SeriesPoint {
		out := make([]SeriesPoint, 0, len(r.Load))
		for _, l := range r.Load {
			out = append(out, SeriesPoint{l.T, float64(l.Requests)})
		}
		return out
	}},
	{"p99", "p99", "p99 latency", "ms", func(r TargetRun) []SeriesPoint {
		var out []SeriesPoint
		for _, l := range r.Load {
			if l.Requests > 0 {
				out = append(out, SeriesPoint{l.T, float64(l.P99) / float64(time.Millisecond)})
			}
		}
		return out
	}},
}

// LookupSeries finds a series by its key.
func LookupSeries(key string) (Series, bool) {
	for _, s := range AllSeries {
		if s.Key == key {
			return s, true
		}
	}
	return Series{}, false
}

func mebibytes(b uint64) float64 { return float64(b) / (1 << 20) }

func everySample(get func(Sample) uint64) func(TargetRun) []SeriesPoint {
	return func(r TargetRun) []SeriesPoint {
		out := make([]SeriesPoint, 0, len(r.Samples))
		for _, s := range r.Samples {
			out = append(out, SeriesPoint{s.T, mebibytes(get(s))})
		}
		return out
	}
}

func readSamples(get func(Sample) uint64) func(TargetRun) []SeriesPoint {
	return func(r TargetRun) []SeriesPoint {
		var out []SeriesPoint
		for _, s := range r.Samples {
			if v := get(s); v > 0 {
				out = append(out, SeriesPoint{s.T, mebibytes(v)})
			}
		}
		return out
	}
}
