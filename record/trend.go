package record

import (
	"math"
	"sort"
)

// Trend is a robust straight-line fit of a figure against time: the Theil–Sen slope (the
// median of the slopes between every pair of points) with its 95% interval.
type Trend struct {
	// Slope, Low and High are in the figure's unit per hour (MiB/h for memory).
	Slope float64 `json:"slope"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	// N is how many points the fit had; under 3 there is no trend to tell.
	N int `json:"n"`
}

// Known says whether the fit had enough points to say anything.
func (t Trend) Known() bool { return t.N >= 3 }

// Grows and Shrinks say the interval excludes 0, upward or downward: only then is a
// trend claimed.
func (t Trend) Grows() bool   { return t.Known() && t.Low > 0 }
func (t Trend) Shrinks() bool { return t.Known() && t.High < 0 }

// z95 is the standard normal quantile for a two-sided 95% interval.
const z95 = 1.959963984540054

// TheilSen fits y against x. The interval is Sen's (1968) distribution-free one, as
// scipy.stats.theilslopes computes it: from the variance of Kendall's S under no trend,
// corrected for tied x and tied y (Sen's eq. 2.6), the ranks
// (N ∓ z·σ)/2 of the N sorted pairwise slopes bound the median. It needs no normal
// errors and a few outliers cannot move it; with 3 points it spans every pairwise slope.
func TheilSen(x, y []float64) Trend {
	n := len(x)
	var slopes []float64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if x[j] != x[i] {
				slopes = append(slopes, (y[j]-y[i])/(x[j]-x[i]))
			}
		}
	}
	if n < 3 || len(slopes) == 0 {
		t := Trend{N: n}
		if len(slopes) > 0 {
			t.Slope = median(slopes)
			t.Low, t.High = t.Slope, t.Slope
		}
		return t
	}
	sort.Float64s(slopes)
	tieTerm := func(v []float64) float64 {
		var sum float64
		for _, k := range repeats(v) {
			sum += float64(k * (k - 1) * (2*k + 5))
		}
		return sum
	}
	nf := float64(n)
	sigma := math.Sqrt((nf*(nf-1)*(2*nf+5) - tieTerm(x) - tieTerm(y)) / 18)
	nt := float64(len(slopes))
	// scipy rounds half to even (numpy.round); so does this, for the same ranks.
	hi := min(int(math.RoundToEven((nt+z95*sigma)/2)), len(slopes)-1)
	lo := max(int(math.RoundToEven((nt-z95*sigma)/2))-1, 0)
	return Trend{Slope: median(slopes), Low: slopes[lo], High: slopes[hi], N: n}
}

// repeats counts each value that occurs more than once.
func repeats(v []float64) []int {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	var out []int
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if j-i > 1 {
			out = append(out, j-i)
		}
		i = j
	}
	return out
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
