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
	"fmt"
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

// Level is the confidence of the printed intervals: an interval excludes 1 exactly when
// the comparison's two-sided p-value is below 1 − Level. A call needs more (Holm at Alpha,
// MinEffect, unanimous runs), and Reason says which of these held back an interval that
// excludes 1.
const Level = 0.95

// minLogEffect is MinEffect as a log ratio, less a billionth: the log difference of values
// exactly 1% apart lands a few ulps either side of log 1.01, depending on the path taken to
// it, and a difference of exactly 1% is called on every path.
var minLogEffect = math.Log1p(MinEffect) * (1 - 1e-9)

// Comparison is one metric of one lane against the baseline lane.
type Comparison struct {
	Metric record.Metric
	// Base and Other index the record's targets.
	Base, Other int
	// N is the number of runs where both lanes have the metric.
	N int
	// Ratio is Other/Base: the geometric mean of the per-run ratios.
	Ratio float64
	// LogRatio is the mean log difference, log Ratio as computed: the call is made on it,
	// not on Ratio, which can round or overflow (±Inf where one side was 0 in every run).
	LogRatio float64
	// Low and High bound the ratio (Level t interval); zero when N < 2.
	Low, High float64
	// P is the t-test's two-sided p-value (1 when it cannot be computed).
	P float64
	// PHolm is P after Holm's correction over Family comparisons: the call needs it below
	// Alpha. 1 and 0 when the comparison was not tested.
	PHolm  float64
	Family int
	// Below and Above count the runs where Other was below or above Base.
	Below, Above int
	// Votes is the number of runs that could lie on either side: N when paired, the other
	// record's runs when not.
	Votes int
	// Unanimous: every run lies on the same side (every pair, or every run of the other
	// record against the base's mean).
	Unanimous bool
	// Significant: after Holm's correction, with |Ratio-1| ≥ MinEffect, N ≥ MinRuns, and
	// unanimous runs.
	Significant bool
	// Reason says which rule held back a comparison whose interval excludes 1, so that
	// "no clear difference" beside such an interval explains itself; NoReason otherwise.
	Reason Reason
	// lo and hi are the interval in logs, which decides whether it excludes 1.
	lo, hi float64
}

// Reason is the rule that held back a difference whose interval excludes 1.
type Reason int

// Reasons, in the order they are looked for.
const (
	NoReason Reason = iota
	// TooFewRuns: fewer than MinRuns runs, which are not tested.
	TooFewRuns
	// HolmThreshold: P after Holm's correction is not below Alpha.
	HolmThreshold
	// UnderMinEffect: the ratio is less than MinEffect from 1.
	UnderMinEffect
	// NotUnanimous: some run went the other way, or no way.
	NotUnanimous
)

// String is the reason's key, as the JSON writes it.
func (r Reason) String() string {
	switch r {
	case TooFewRuns:
		return "too-few-runs"
	case HolmThreshold:
		return "holm"
	case UnderMinEffect:
		return "under-minimum"
	case NotUnanimous:
		return "not-unanimous"
	}
	return ""
}

// Why words the comparison's Reason as a reader needs it: "not every run went the same way:
// 2 of 3", "under the 1% minimum", "p = 0.03 after Holm over 18 comparisons needs < 0.01";
// "" when there is none.
func (c Comparison) Why() string {
	switch c.Reason {
	case TooFewRuns:
		return fmt.Sprintf("%d %s, too few to test (%d needed)", c.N, plural(c.N, "run", "runs"), MinRuns)
	case HolmThreshold:
		return fmt.Sprintf("p = %.2g after Holm over %d %s needs < %g", c.PHolm, c.Family, plural(c.Family, "comparison", "comparisons"), Alpha)
	case UnderMinEffect:
		return fmt.Sprintf("under the %g%% minimum", 100*MinEffect)
	case NotUnanimous:
		with := c.Above
		if c.LogRatio < 0 {
			with = c.Below
		}
		return fmt.Sprintf("not every run went the same way: %d of %d", with, c.Votes)
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Testable says whether the comparison had enough runs to be tested at all.
func (c Comparison) Testable() bool { return c.N >= MinRuns }

// Interval says whether the comparison has an interval: two runs or more.
func (c Comparison) Interval() bool { return c.N >= 2 }

// ExcludesOne says whether the interval leaves out a ratio of 1: exactly when P < 1 − Level.
func (c Comparison) ExcludesOne() bool { return c.Interval() && (c.lo > 0 || c.hi < 0) }

// Compare pairs run k of lane other with run k of lane base.
func Compare(r *record.Record, m record.Metric, base, other int) Comparison {
	c := Comparison{Metric: m, Base: base, Other: other, P: 1, PHolm: 1}
	bv, bok := m.Values(r.Targets[base])
	ov, ook := m.Values(r.Targets[other])
	var logs []float64
	var fell, rose, scale float64
	for k := 0; k < len(bv) && k < len(ov); k++ {
		if !bok[k] || !ook[k] || bv[k] < 0 || ov[k] < 0 || bv[k] == 0 && ov[k] == 0 {
			continue
		}
		switch {
		case ov[k] == 0:
			fell++
			continue
		case bv[k] == 0:
			rose++
			continue
		}
		// The difference of the logs, not the log of the ratio, which overflows.
		lo, lb := math.Log(ov[k]), math.Log(bv[k])
		logs = append(logs, lo-lb)
		scale = max(scale, math.Abs(lo), math.Abs(lb))
		switch {
		case ov[k] < bv[k]:
			c.Below++
		case ov[k] > bv[k]:
			c.Above++
		}
	}
	if len(logs) == 0 && (fell == 0) != (rose == 0) {
		c.total(int(fell+rose), int(fell+rose), fell > 0)
		return c
	}
	c.N, c.Votes = len(logs), len(logs)
	if c.N == 0 {
		return c
	}
	c.Unanimous = c.Below == c.N || c.Above == c.N
	mean, sd := meanSD(logs, scale)
	c.LogRatio, c.Ratio = mean, math.Exp(mean)
	if c.N < 2 {
		return c
	}
	c.test(mean, sd/math.Sqrt(float64(c.N)), float64(c.N-1))
	return c
}

// total is the comparison of a figure that was 0 in every run on one side and not on the
// other (a lane that served nothing): a difference without spread, and the largest there
// is, so that a gate on it fires.
func (c *Comparison) total(n, votes int, fell bool) {
	c.N, c.Votes, c.Unanimous = n, votes, true
	c.LogRatio, c.Above = math.Inf(1), votes
	if fell {
		c.LogRatio, c.Above, c.Below = math.Inf(-1), 0, votes
	}
	c.Ratio = math.Exp(c.LogRatio)
	if n >= 2 {
		c.test(c.LogRatio, 0, 0)
	}
}

// test sets the interval and the p-value from the mean log difference, its standard error
// and degrees of freedom. A standard error of 0 is a difference without spread: certain
// (P = 0) unless there is none.
func (c *Comparison) test(diff, se, df float64) {
	c.lo, c.hi = diff, diff
	switch {
	case se == 0 && diff != 0:
		c.P = 0
	case se > 0:
		q := StudentTQuantile(1-(1-Level)/2, df)
		c.lo, c.hi = diff-q*se, diff+q*se
		c.P = twoSided(diff/se, df)
	}
	c.Low, c.High = math.Exp(c.lo), math.Exp(c.hi)
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

// holm marks comparisons significant by Holm's step-down procedure, written as adjusted
// p-values (PHolm): P·(m − rank), never below an earlier one's, is below Alpha exactly when
// the step-down reaches the comparison.
func holm(cs []Comparison) {
	var tested []int
	for i := range cs {
		c := &cs[i]
		c.Significant, c.Reason, c.PHolm, c.Family = false, NoReason, 1, 0
		if math.IsNaN(c.P) {
			c.P = 1 // as the field says; a NaN would scramble the sort below
		}
		if c.Testable() {
			tested = append(tested, i)
		}
	}
	sort.SliceStable(tested, func(a, b int) bool { return cs[tested[a]].P < cs[tested[b]].P })
	m := len(tested)
	adjusted := 0.0
	for rank, i := range tested {
		adjusted = max(adjusted, min(1, float64(m-rank)*cs[i].P))
		cs[i].PHolm, cs[i].Family = adjusted, m
	}
	for i := range cs {
		cs[i].decide()
	}
}

// decide calls the comparison, or says why not where its interval excludes 1. A test on a
// handful of runs can be sure of a fluke: a difference that some run contradicts is not
// called, whatever the p-value.
func (c *Comparison) decide() {
	large := math.Abs(c.LogRatio) >= minLogEffect
	c.Significant = c.Testable() && c.PHolm < Alpha && large && c.Unanimous
	if c.Significant || !c.ExcludesOne() {
		return
	}
	switch {
	case !c.Testable():
		c.Reason = TooFewRuns
	case c.PHolm >= Alpha:
		c.Reason = HolmThreshold
	case !large:
		c.Reason = UnderMinEffect
	default:
		c.Reason = NotUnanimous
	}
}

// meanSD is the mean and standard deviation of logs whose inputs were up to scale in size.
// A spread within their rounding is no spread: the same value three times and seven times
// would otherwise differ by a few ulps, and be "certain" to.
func meanSD(v []float64, scale float64) (mean, sd float64) {
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
	sd = math.Sqrt(ss / float64(len(v)-1))
	if sd <= rounding(len(v), scale) {
		sd = 0
	}
	return mean, sd
}

// rounding bounds the error of a mean of n logs up to scale in size: a difference or spread
// below it is none.
func rounding(n int, scale float64) float64 {
	const eps = 0x1p-52
	return 4 * float64(n) * eps * scale
}
