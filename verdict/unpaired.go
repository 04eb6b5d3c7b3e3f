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
	c := Comparison{Metric: m, Base: base, Other: other, P: 1, PHolm: 1}
	b, bz := logs(m, baseRec.Targets[base])
	o, oz := logs(m, otherRec.Targets[other])
	switch {
	case len(o) == 0 && oz > 0 && len(b) > 0 && bz == 0:
		c.total(min(len(b), oz), oz, true)
		return c
	case len(b) == 0 && bz > 0 && len(o) > 0 && oz == 0:
		c.total(min(bz, len(o)), len(o), false)
		return c
	}
	c.N, c.Votes = min(len(b), len(o)), len(o)
	if c.N == 0 {
		return c
	}
	scale := max(math.Abs(b[0]), math.Abs(b[len(b)-1]), math.Abs(o[0]), math.Abs(o[len(o)-1]))
	tiny := rounding(max(len(b), len(o)), scale)
	mb, sb := meanSD(b, scale)
	mo, so := meanSD(o, scale)
	diff := mo - mb
	if math.Abs(diff) <= tiny {
		diff = 0
	}
	c.LogRatio, c.Ratio = diff, math.Exp(diff)
	for _, v := range o {
		switch {
		case v < mb-tiny:
			c.Below++
		case v > mb+tiny:
			c.Above++
		}
	}
	c.Unanimous = c.Below == len(o) || c.Above == len(o)
	if len(b) < 2 || len(o) < 2 {
		return c
	}
	vb, vo := sb*sb/float64(len(b)), so*so/float64(len(o))
	se := math.Sqrt(vb + vo)
	df := 0.0
	if se > 0 {
		df = (vb + vo) * (vb + vo) / (vb*vb/float64(len(b)-1) + vo*vo/float64(len(o)-1))
	}
	c.test(diff, se, df)
	return c
}

// Correct marks comparisons significant, by Holm's correction over all of them together,
// and gives the reason of each whose interval excludes 1 and is not called.
func Correct(cs []Comparison) { holm(cs) }

// logs are the logs of a lane's positive values, sorted, and the number of its values that
// are 0.
func logs(m record.Metric, t record.Target) (out []float64, zeros int) {
	v, ok := m.Values(t)
	for i := range v {
		switch {
		case !ok[i]:
		case v[i] > 0:
			out = append(out, math.Log(v[i]))
		case v[i] == 0:
			zeros++
		}
	}
	sort.Float64s(out)
	return out, zeros
}
