package verdict

import (
	"math"
	"math/rand/v2"
	"testing"
)

// upperTail is P(T > t) for Student's t with nu degrees of freedom, by quadrature, written
// apart from the package (which uses gonum's incomplete beta): with x = √ν·tan φ the tail
// is Γ((ν+1)/2)/(√π Γ(ν/2)) ∫ sin^(ν−1) ψ dψ over ψ from 0 to atan(√ν/t), and ψ = u⁴ makes
// the integrand smooth at 0 for any ν ≥ 1.
func upperTail(t, nu float64) float64 {
	if t < 0 {
		return 1 - upperTail(-t, nu)
	}
	g1, _ := math.Lgamma((nu + 1) / 2)
	g2, _ := math.Lgamma(nu / 2)
	front := math.Exp(g1-g2) / math.Sqrt(math.Pi)
	top := math.Pow(math.Atan2(math.Sqrt(nu), t), 0.25)
	f := func(u float64) float64 {
		if u == 0 {
			return 0
		}
		return math.Pow(math.Sin(u*u*u*u), nu-1) * 4 * u * u * u
	}
	const steps = 4000 // Simpson's rule
	h := top / steps
	sum := f(0) + f(top)
	for i := 1; i < steps; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		sum += w * f(float64(i)*h)
	}
	return front * sum * h / 3
}

func TestUpperTailMatchesTables(t *testing.T) {
	// The quadrature the property test trusts: P(T > t) at the 97.5% points of a t table.
	for _, c := range []struct{ df, t float64 }{{1, 12.706205}, {2, 4.302653}, {4, 2.776445}, {9, 2.262157}, {30, 2.042272}} {
		if got := upperTail(c.t, c.df); math.Abs(got-0.025) > 1e-7 {
			t.Errorf("P(T > %g; %g) = %g, want 0.025", c.t, c.df, got)
		}
	}
}

// sample draws n positive values around scale, with relative spread sd, rounded to a few
// digits now and then so that ties happen.
func sample(rng *rand.Rand, n int, scale, sd float64, ties bool) []float64 {
	out := make([]float64, n)
	for i := range out {
		v := scale * math.Exp(sd*rng.NormFloat64())
		if ties {
			p := math.Pow(10, math.Floor(math.Log10(v))-1)
			v = math.Round(v/p) * p
		}
		out[i] = v
	}
	return out
}

// independent is the comparison as a textbook computes it: the t statistic and degrees of
// freedom of the paired test (b and o of one length) or of Welch's, with the sizes that
// decide whether the spread is real.
func independent(b, o []float64, paired bool) (tstat, df, spread, scale float64) {
	mv := func(x []float64) (m, v float64) {
		for _, y := range x {
			m += y
		}
		m /= float64(len(x))
		for _, y := range x {
			v += (y - m) * (y - m)
		}
		return m, v / float64(len(x)-1)
	}
	lb, lo := make([]float64, len(b)), make([]float64, len(o))
	for i := range b {
		lb[i] = math.Log(b[i])
		scale = max(scale, math.Abs(lb[i]))
	}
	for i := range o {
		lo[i] = math.Log(o[i])
		scale = max(scale, math.Abs(lo[i]))
	}
	if paired {
		d := make([]float64, len(b))
		for i := range d {
			d[i] = lo[i] - lb[i]
		}
		m, v := mv(d)
		se := math.Sqrt(v / float64(len(d)))
		return m / se, float64(len(d) - 1), se, scale
	}
	mb, vb := mv(lb)
	mo, vo := mv(lo)
	sb, so := vb/float64(len(b)), vo/float64(len(o))
	se := math.Sqrt(sb + so)
	df = (sb + so) * (sb + so) / (sb*sb/float64(len(b)-1) + so*so/float64(len(o)-1))
	return (mo - mb) / se, df, se, scale
}

func TestPropertiesOnRandomInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 2024))
	var checked, family int
	var batch []Comparison
	for i := 0; i < 3000; i++ {
		paired := i%2 == 0
		nb := 1 + rng.IntN(30)
		no := nb
		if !paired {
			no = 1 + rng.IntN(30)
		}
		scale := math.Pow(10, rng.Float64()*600-300)
		if i%3 == 0 {
			scale = 1e3 + rng.Float64()*1e9 // realistic: bytes, req/s, nanoseconds
		}
		sd := []float64{0, 1e-3, 1e-2, 0.1, 0.5}[rng.IntN(5)]
		effect := math.Exp(0.05 * rng.NormFloat64())
		ties := rng.IntN(4) == 0
		b := sample(rng, nb, scale, sd, ties)
		o := sample(rng, no, scale*effect, sd, ties)
		if rng.IntN(10) == 0 {
			o = append([]float64(nil), b[:min(nb, no)]...) // identical lanes
			no = len(o)
		}
		var c, swapped Comparison
		if paired {
			r := rates(b, o)
			c, swapped = Compare(r, rps, 0, 1), Compare(r, rps, 1, 0)
		} else {
			rb, ro := rates(b), rates(o)
			c, swapped = CompareUnpaired(rps, rb, 0, ro, 0), CompareUnpaired(rps, ro, 0, rb, 0)
		}
		if math.IsNaN(c.P) || c.P < 0 || c.P > 1 {
			t.Fatalf("case %d: P = %g", i, c.P)
		}
		// Swapping the lanes changes the sign of the difference and nothing else.
		if math.Abs(c.P-swapped.P) > 1e-9*max(c.P, 1e-300) && math.Abs(c.P-swapped.P) > 1e-12 || c.LogRatio != -swapped.LogRatio && math.Abs(c.LogRatio+swapped.LogRatio) > 1e-12*math.Abs(c.LogRatio) {
			t.Fatalf("case %d: P %g, log ratio %g; swapped: P %g, log ratio %g", i, c.P, c.LogRatio, swapped.P, swapped.LogRatio)
		}
		// The interval excludes 1 at 95% exactly when p < 5%.
		if math.Abs(c.P-(1-Level)) > 1e-9 && c.ExcludesOne() != (c.P < 1-Level) {
			t.Fatalf("case %d: P = %g but the interval %g–%g excludes 1: %v", i, c.P, c.Low, c.High, c.ExcludesOne())
		}
		if c.Interval() && !(c.Low <= c.Ratio && c.Ratio <= c.High) {
			t.Fatalf("case %d: ratio %g outside its interval %g–%g", i, c.Ratio, c.Low, c.High)
		}
		// The p-value is the textbook one wherever the spread is real.
		if c.N >= 2 && nb >= 2 && no >= 2 {
			ts, df, se, sc := independent(b, o, paired)
			if se > 1e-9*sc && !math.IsInf(ts, 0) {
				want := 2 * upperTail(math.Abs(ts), df)
				if want > 1e-250 && math.Abs(c.P-want) > 1e-6*want+1e-12 {
					t.Fatalf("case %d (paired %v, n %d/%d): P = %g, independently %g (t %g, df %g)", i, paired, nb, no, c.P, want, ts, df)
				}
				checked++
			}
		}
		batch = append(batch, c)
		if len(batch) == 18 {
			family += checkHolm(t, batch)
			batch = nil
		}
	}
	if checked < 1500 {
		t.Fatalf("only %d p-values were checked against the quadrature", checked)
	}
	t.Logf("%d p-values checked, %d comparisons called in families of 18", checked, family)
}

// checkHolm corrects a family and checks that it calls nothing that unadjusted testing at
// Alpha would not, and that each uncalled interval excluding 1 has its reason.
func checkHolm(t *testing.T, cs []Comparison) int {
	t.Helper()
	Correct(cs)
	called, unadjusted := 0, 0
	for _, c := range cs {
		rule := c.Testable() && c.P < Alpha && c.Unanimous && math.Abs(c.LogRatio) >= math.Log1p(MinEffect)*(1-1e-9)
		if rule {
			unadjusted++
		}
		if c.Significant {
			called++
			if !rule || c.PHolm < c.P {
				t.Fatalf("Holm called %+v, which unadjusted testing would not", c)
			}
		}
		if want := !c.Significant && c.ExcludesOne(); (c.Reason != NoReason) != want || want && c.Why() == "" {
			t.Fatalf("reason %v (%q) for %+v", c.Reason, c.Why(), c)
		}
	}
	if called > unadjusted {
		t.Fatalf("Holm called %d, unadjusted testing %d", called, unadjusted)
	}
	return called
}
