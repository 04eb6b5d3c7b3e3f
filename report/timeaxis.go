package report

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// timeUnit is the unit a time axis is labelled in: seconds up to 10 minutes, minutes up
// to 5 hours, hours beyond, so that the figures stay few and whole ("0 2 4 h", not
// "0 7200 14400").
type timeUnit struct {
	seconds    float64
	name, long string
}

func timeUnitFor(spanSeconds float64) timeUnit {
	switch {
	case spanSeconds < 600:
		return timeUnit{1, "s", "seconds"}
	case spanSeconds < 5*3600:
		return timeUnit{60, "min", "minutes"}
	}
	return timeUnit{3600, "h", "hours"}
}

// timeTicks are wholeTicks in the unit, on an axis whose values are seconds.
type timeTicks struct{ unit timeUnit }

func (tt timeTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := wholeTicks{}.Ticks(lo/tt.unit.seconds, hi/tt.unit.seconds)
	for i := range ticks {
		ticks[i].Value *= tt.unit.seconds
		ticks[i].Label = strconv.FormatFloat(ticks[i].Value/tt.unit.seconds, 'f', -1, 64)
	}
	return ticks
}

// envelopeColumns is how many columns a long series is reduced to: about the slide's
// data width in pixels at 144 DPI, so that no column holds less than its pixel shows.
const envelopeColumns = 1600

// envelope reduces a series of more points than columns to, per column of the x range,
// its first, lowest, highest and last points in time order: the line drawn through them
// covers exactly the pixels the full series would, every spike kept, at a cost that does
// not grow with the run (86,400 points a lane for a day at 1 s).
func envelope(xys plotter.XYs, x0, x1 float64, columns int) plotter.XYs {
	if len(xys) <= 4*columns || x1 <= x0 {
		return xys
	}
	out := make(plotter.XYs, 0, 4*columns)
	width := (x1 - x0) / float64(columns)
	for i := 0; i < len(xys); {
		col := math.Floor((xys[i].X - x0) / width)
		j := i
		lo, hi := i, i
		for j < len(xys) && math.Floor((xys[j].X-x0)/width) == col {
			if xys[j].Y < xys[lo].Y {
				lo = j
			}
			if xys[j].Y > xys[hi].Y {
				hi = j
			}
			j++
		}
		last := j - 1
		for _, k := range uniqueInOrder(i, lo, hi, last) {
			out = append(out, xys[k])
		}
		i = j
	}
	return out
}

// uniqueInOrder sorts up to four indices and drops repeats.
func uniqueInOrder(idx ...int) []int {
	for a := 1; a < len(idx); a++ {
		for b := a; b > 0 && idx[b] < idx[b-1]; b-- {
			idx[b], idx[b-1] = idx[b-1], idx[b]
		}
	}
	out := idx[:1]
	for _, v := range idx[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}
