// Package verdict decides which differences between lanes a run can back: a paired test
// over the repetitions of a run, corrected for the number of comparisons made at once.
//
// Lanes of one repetition run side by side (or one after another within minutes), so the
// machine's drift hits them together: run k of one lane is paired with run k of another,
// and what is tested is the log of their ratio. The test is Student's paired t-test on
// those log ratios, the standard test for a handful of paired measurements; its interval
// gives the ratio's range. Holm's correction keeps the chance of calling any difference
// in an A/A run at Alpha, however many figures and lanes are compared.
package verdict

import (
	"math"
	"sort"

	"github.com/allocscope/allocscope/record"
)

// Alpha is the chance, at most, that a conclusion calls a difference between two lanes
// that are the same (the family-wise error rate). 1%, not the customary 5%: at 5% one A/A
// run in twenty would name a difference, and with three runs the t-test's spread rests
// on two degrees of freedom, where three ratios that happen to agree look very sure.
const Alpha = 0.01

// MinRuns is the fewest paired runs from which a difference can be called: with two, the
// t-test has one degree of freedom and its interval is too wide to mean anything.
const MinRuns = 3

// MinEffect is the smallest difference ever called (1%): below it a difference matters to
// nobody, and deterministic crumbs (a page of VSZ) would otherwise count as real.
const MinEffect = 0.01

// Comparison is one metric of one lane against the baseline lane.
type Comparison struct {
	Metric record.Metric
	// Base and Other index the record's targets.
	Base, Other int
	// N is the number of runs where both lanes have the metric.
	N int
	// Ratio is Other/Base: the geometric mean of the per-run ratios.
	Ratio float64
	// Low and High bound the ratio (95% t interval); zero when N < 2.
	Low, High float64
	// P is the paired t-test's two-sided p-value (1 when it cannot be computed).
	P float64
	// Below and Above count the runs where Other was below or above Base.
	Below, Above int
	// Unanimous: every run lies on the same side (every pair, or every run of the other
	// record against the base's mean).
	Unanimous bool
	// Significant: after Holm's correction, with |Ratio-1| ≥ MinEffect, N ≥ MinRuns, and
	// unanimous runs.
	Significant bool
}

// Testable says whether the comparison had enough runs to be tested at all.
func (c Comparison) Testable() bool { return c.N >= MinRuns }

// Compare pairs run k of lane other with run k of lane base.
func Compare(r *record.Record, m record.Metric, base, other int) Comparison {
	c := Comparison{Metric: m, Base: base, Other: other, P: 1}
	bv, bok := m.Values(r.Targets[base])
	ov, ook := m.Values(r.Targets[other])
	var logs []float64
	for k := 0; k < len(bv) && k < len(ov); k++ {
		if !bok[k] || !ook[k] || bv[k] <= 0 || ov[k] <= 0 {
			continue
		}
		logs = append(logs, math.Log(ov[k]/bv[k]))
		switch {
		case ov[k] < bv[k]:
			c.Below++
		case ov[k] > bv[k]:
			c.Above++
		}
	}
	c.N = len(logs)
	if c.N == 0 {
		return c
	}
	c.Unanimous = c.Below == c.N || c.Above == c.N
	mean, sd := meanSD(logs)
	c.Ratio = math.Exp(mean)
	if c.N < 2 {
		return c
	}
	se := sd / math.Sqrt(float64(c.N))
	df := float64(c.N - 1)
	q := StudentTQuantile(0.975, df)
	c.Low, c.High = math.Exp(mean-q*se), math.Exp(mean+q*se)
	switch {
	case se == 0 && mean == 0:
		c.P = 1
	case se == 0:
		c.P = 0 // the same ratio every run: a deterministic difference
	default:
		c.P = 2 * (1 - StudentTCDF(math.Abs(mean/se), df))
	}
	return c
}

// CompareAll compares every metric of every lane in lanes with the first of them, and
// marks the significant ones, corrected (Holm) over all of them together.
func CompareAll(r *record.Record, metrics []record.Metric, lanes []int) []Comparison {
	var out []Comparison
	if len(lanes) < 2 {
		return nil
	}
	for _, m := range metrics {
		for _, o := range lanes[1:] {
			if c := Compare(r, m, lanes[0], o); c.N > 0 {
				out = append(out, c)
			}
		}
	}
	holm(out)
	return out
}

// holm marks comparisons significant by Holm's step-down procedure.
func holm(cs []Comparison) {
	var tested []int
	for i := range cs {
		if cs[i].Testable() {
			tested = append(tested, i)
		}
	}
	sort.SliceStable(tested, func(a, b int) bool { return cs[tested[a]].P < cs[tested[b]].P })
	m := len(tested)
	for rank, i := range tested {
		if cs[i].P >= Alpha/float64(m-rank) {
			break // and every larger p-value with it
		}
		// A test on a handful of runs can be sure of a fluke; a difference that some run
		// contradicts is not called, whatever the p-value.
		cs[i].Significant = math.Abs(math.Log(cs[i].Ratio)) >= math.Log1p(MinEffect) && cs[i].Unanimous
	}
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1))
}
