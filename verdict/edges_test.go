package verdict

import (
	"math"
	"testing"

	"github.com/allocscope/allocscope/record"
)

// rates builds a record whose lanes have the given req/s per run: a float figure, so
// values from 1e-300 to 1e300 and exact zeros can be written as they are.
func rates(lanes ...[]float64) *record.Record {
	r := &record.Record{}
	for i, runs := range lanes {
		tg := record.Target{Name: string(rune('a' + i))}
		for _, v := range runs {
			tg.Runs = append(tg.Runs, record.TargetRun{Result: &record.LoadResult{Requests: 1, ReqPerSec: v}})
		}
		r.Targets = append(r.Targets, tg)
	}
	return r
}

var rps = record.MetricReqPerSec

func TestARatioThatOverflowsIsStillTested(t *testing.T) {
	r := rates([]float64{1e-300, 1e-300, 1e-300}, []float64{1e300, 1e300, 1.1e300})
	c := CompareAll(r, []record.Metric{rps}, []int{0, 1})[0]
	if math.IsNaN(c.P) || c.P < 0 || c.P > 1 || math.IsNaN(c.Low) || math.IsNaN(c.High) {
		t.Fatalf("P %g, interval %g–%g: want a p-value and an interval", c.P, c.Low, c.High)
	}
	if !c.Significant || c.P >= Alpha {
		t.Fatalf("a 1e600-fold difference in every run: got %+v, want it called", c)
	}
}

func TestAPValueThatCannotBeComputedDoesNotScrambleHolm(t *testing.T) {
	called := Compare(rates([]float64{100, 101, 99, 100}, []float64{120, 121.5, 118.6, 120.2}), rps, 0, 1)
	loose := Compare(rates([]float64{100, 101, 99, 100}, []float64{101, 99, 100, 100.5}), rps, 0, 1)
	cs := []Comparison{loose, {N: 3, P: math.NaN()}, called}
	Correct(cs)
	if !cs[2].Significant {
		t.Fatalf("a NaN p-value kept p = %g from being called: %+v", called.P, cs)
	}
	if cs[1].P != 1 {
		t.Fatalf("a p-value that cannot be computed is %g, want 1", cs[1].P)
	}
}

func TestIdenticalConstantSamplesDoNotDiffer(t *testing.T) {
	base := rates([]float64{3, 3, 3})
	other := rates([]float64{3, 3, 3, 3, 3, 3, 3})
	c := CompareUnpaired(rps, base, 0, other, 0)
	if c.P != 1 || c.Ratio != 1 || c.Unanimous {
		t.Fatalf("all values 3 on both sides: P %g, ratio %g, unanimous %v; want P 1, ratio 1, no direction", c.P, c.Ratio, c.Unanimous)
	}
}

func TestExactlyOnePercentIsCalledTheSameWayOnBothPaths(t *testing.T) {
	for _, v := range []float64{1, 3, 97.3, 1e6, 4.2e9} {
		for _, f := range []struct {
			factor float64
			called bool
		}{{1.01, true}, {1 / 1.01, true}, {1.0099, false}} {
			b := []float64{v, v, v, v}
			o := []float64{v * f.factor, v * f.factor, v * f.factor, v * f.factor}
			paired := []Comparison{Compare(rates(b, o), rps, 0, 1)}
			unpaired := []Comparison{CompareUnpaired(rps, rates(b), 0, rates(o), 0)}
			Correct(paired)
			Correct(unpaired)
			if paired[0].Significant != f.called || unpaired[0].Significant != f.called {
				t.Errorf("%g × %g: paired called %v, unpaired %v; want both %v", v, f.factor, paired[0].Significant, unpaired[0].Significant, f.called)
			}
		}
	}
}

func TestStudentTQuantileRefusesWhatHasNone(t *testing.T) {
	for _, c := range []struct{ p, df float64 }{{0, 3}, {1, 3}, {-0.5, 3}, {1.5, 3}, {math.NaN(), 3}, {0.5, math.NaN()}, {0.975, 0}, {0.975, -1}} {
		if got := StudentTQuantile(c.p, c.df); !math.IsNaN(got) {
			t.Errorf("StudentTQuantile(%g, %g) = %g, want NaN", c.p, c.df, got)
		}
	}
}

func TestTinyPValuesAreNotRoundedToZero(t *testing.T) {
	// Ten runs 20% apart with a spread of about 0.1%: t is about 200 on 9 degrees of freedom,
	// p about 1e-17, which 2(1 − CDF) rounds to 0.
	b := []float64{100, 100.1, 99.9, 100.05, 99.95, 100.02, 99.98, 100.07, 99.93, 100}
	var o []float64
	for i, v := range b {
		o = append(o, 1.2*v*(1+0.001*float64(i%3-1)))
	}
	c := Compare(rates(b, o), rps, 0, 1)
	if c.P <= 0 || c.P > 1e-10 {
		t.Fatalf("P = %g, want a tiny positive p-value", c.P)
	}
}

func TestAFigureThatFellToZeroIsTheLargestRegression(t *testing.T) {
	g, err := ParseGate("rps<-5%")
	if err != nil {
		t.Fatal(err)
	}
	base, dead := []float64{1000, 1010, 990}, []float64{0, 0, 0}
	paired := CompareAll(rates(base, dead), []record.Metric{rps}, []int{0, 1})
	unpaired := []Comparison{CompareUnpaired(rps, rates(base), 0, rates(dead), 0)}
	Correct(unpaired)
	for name, cs := range map[string][]Comparison{"paired": paired, "unpaired": unpaired} {
		if len(cs) != 1 || cs[0].N != 3 || cs[0].Ratio != 0 || !cs[0].Significant {
			t.Fatalf("%s: throughput 0 in every run against 1000: got %+v, want a called ratio of 0", name, cs)
		}
		if b := g.Check(cs); len(b) != 1 {
			t.Fatalf("%s: rps<-5%% found %d breaches, want 1", name, len(b))
		}
	}
	// Both lanes served nothing: there is no ratio, and nothing to call.
	if cs := CompareAll(rates(dead, dead), []record.Metric{rps}, []int{0, 1}); len(cs) != 0 {
		t.Fatalf("0 against 0: got %+v, want no comparison", cs)
	}
}

func TestAFallOfMoreThanAllIsRefused(t *testing.T) {
	for _, expr := range []string{"peak_rss<-150%", "rps<-100%"} {
		if _, err := ParseGate(expr); err == nil {
			t.Errorf("%s was accepted; a fall of 100%% or more never happens", expr)
		}
	}
	if _, err := ParseGate("rps<-99.5%"); err != nil {
		t.Errorf("rps<-99.5%%: %v", err)
	}
}
