package tui

import (
	"fmt"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/units"
)

// point is one value of a series at an offset from the run's start.
type point struct {
	t time.Duration
	v float64
}

// metric is what the shared chart plots, in display units (record.AllSeries).
type metric struct {
	key    string
	name   string
	unit   string
	series func(record.TargetRun) []point
}

// metrics in the order m cycles through them.
var metrics = func() []metric {
	out := make([]metric, len(record.AllSeries))
	for i, s := range record.AllSeries {
		of := s.Of
		out[i] = metric{key: s.Key, name: s.Name, unit: s.Unit, series: func(r record.TargetRun) []point {
			rps := of(r)
			ps := make([]point, len(rps))
			for j, p := range rps {
				ps[j] = point{p.T, p.V}
			}
			return ps
		}}
	}
	return out
}()

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
		return units.ShortMiBs(v * units.MiB)
	case "%":
		return fmt.Sprintf("%.0f%%", v)
	case "ms":
		if v >= 1000 {
			return fmt.Sprintf("%.2fs", v/1000)
		}
		return fmt.Sprintf("%.1fms", v)
	}
	return units.ShortCount(v)
}
