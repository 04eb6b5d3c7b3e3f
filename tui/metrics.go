package tui

import (
	"fmt"
	"time"

	"github.com/allocscope/allocscope/record"
)

// point is one value of a series at an offset from the run's start.
type point struct {
	t time.Duration
	v float64
}

// metric is what the shared chart plots, in display units.
type metric struct {
	name   string
	unit   string
	series func(record.TargetRun) []point
}

func memory(get func(record.Sample) uint64) func(record.TargetRun) []point {
	return func(r record.TargetRun) []point {
		out := make([]point, 0, len(r.Samples))
		for _, s := range r.Samples {
			out = append(out, point{s.T, float64(get(s)) / (1 << 20)})
		}
		return out
	}
}

// measured is memory, leaving out the samples that did not have the figure (0): PSS is
// read less often than RSS, and a cgroup only with --cgroup.
func measured(get func(record.Sample) uint64) func(record.TargetRun) []point {
	return func(r record.TargetRun) []point {
		var out []point
		for _, s := range r.Samples {
			if v := get(s); v > 0 {
				out = append(out, point{s.T, float64(v) / (1 << 20)})
			}
		}
		return out
	}
}

// metrics in the order m cycles through them.
var metrics = []metric{
	{"RSS", "MiB", memory(func(s record.Sample) uint64 { return s.RSSBytes })},
	{"VSZ", "MiB", memory(func(s record.Sample) uint64 { return s.VSZBytes })},
	{"PSS", "MiB", measured(func(s record.Sample) uint64 { return s.PSSBytes })},
	{"cgroup", "MiB", measured(func(s record.Sample) uint64 { return s.CgroupBytes })},
	{"heap in use", "MiB", func(r record.TargetRun) []point {
		var out []point
		for _, h := range r.Heap {
			v := h.AllocatedBytes
			if v == nil {
				v = &h.LiveBytes
			}
			out = append(out, point{h.T, float64(*v) / (1 << 20)})
		}
		return out
	}},
	{"CPU", "%", func(r record.TargetRun) []point {
		out := make([]point, 0, len(r.Samples))
		for _, s := range r.Samples {
			out = append(out, point{s.T, s.CPUPercent})
		}
		return out
	}},
	{"req/s", "req/s", func(r record.TargetRun) []point {
		var out []point
		for _, l := range r.Load {
			out = append(out, point{l.T, float64(l.Requests)})
		}
		return out
	}},
	{"p99", "ms", func(r record.TargetRun) []point {
		var out []point
		for _, l := range r.Load {
			if l.Requests > 0 {
				out = append(out, point{l.T, float64(l.P99) / float64(time.Millisecond)})
			}
		}
		return out
	}},
}

// upTo keeps the points at or before t (replay's cursor).
func upTo(ps []point, t time.Duration) []point {
	for i, p := range ps {
		if p.t > t {
			return ps[:i]
		}
	}
	return ps
}

// short formats a value of a unit compactly for a panel.
func short(v float64, unit string) string {
	switch unit {
	case "MiB":
		if v >= 1024 {
			return fmt.Sprintf("%.2fG", v/1024)
		}
		return fmt.Sprintf("%.1fM", v)
	case "%":
		return fmt.Sprintf("%.0f%%", v)
	case "ms":
		if v >= 1000 {
			return fmt.Sprintf("%.2fs", v/1000)
		}
		return fmt.Sprintf("%.1fms", v)
	}
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
