package verdict

import (
	"math"
	"sort"

	"github.com/allocscope/allocscope/record"
)

// CompareUnpaired compares a metric's runs in two records made at different times, which
// share no machine drift and so cannot be paired: Welch's t-test on the logs of the values
// (no equal-variance assumption), and its interval for the ratio of geometric means. Base
// and Other index the lanes in their own records. It is testable when both sides have
// MinRuns runs or more.
func CompareUnpaired(m record.Metric, baseRec *record.Record, base int, otherRec *record.Record, other int) Comparison {
	c := Comparison{Metric: m, Base: base, Other: other, P: 1}
	b, o := logs(m, baseRec.Targets[base]), logs(m, otherRec.Targets[other])
	c.N = min(len(b), len(o))
	if len(b) == 0 || len(o) == 0 {
		c.N = 0
		return c
	}
	mb, sb := meanSD(b)
	mo, so := meanSD(o)
	diff := mo - mb
	c.Ratio = math.Exp(diff)
	for _, v := range o {
		switch {
		case v < mb:
			c.Below++
		case v > mb:
			c.Above++
		}
	}
	c.Unanimous = c.Below == len(o) || c.Above == len(o)
	if len(b) < 2 || len(o) < 2 {
		return c
	}
	vb, vo := sb*sb/float64(len(b)), so*so/float64(len(o))
	se := math.Sqrt(vb + vo)
	if se == 0 {
		if diff != 0 {
			c.P = 0
		}
		c.Low, c.High = c.Ratio, c.Ratio
		return c
	}
	df := (vb + vo) * (vb + vo) / (vb*vb/float64(len(b)-1) + vo*vo/float64(len(o)-1))
	q := StudentTQuantile(0.975, df)
	c.Low, c.High = math.Exp(diff-q*se), math.Exp(diff+q*se)
	c.P = 2 * (1 - StudentTCDF(math.Abs(diff/se), df))
	return c
}

// Correct marks comparisons significant, by Holm's correction over all of them together.
func Correct(cs []Comparison) { holm(cs) }

func logs(m record.Metric, t record.Target) []float64 {
	v, ok := m.Values(t)
	var out []float64
	for i := range v {
		if ok[i] && v[i] > 0 {
			out = append(out, math.Log(v[i]))
		}
	}
	sort.Float64s(out)
	return out
}
