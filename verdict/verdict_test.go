package verdict

import (
	"math"
	"testing"

	"github.com/allocscope/allocscope/record"
)

func TestStudentTMatchesTables(t *testing.T) {
	// Two-sided 95% critical values from any t table.
	for _, c := range []struct{ df, want float64 }{{1, 12.706}, {2, 4.303}, {4, 2.776}, {9, 2.262}, {30, 2.042}} {
		if got := StudentTQuantile(0.975, c.df); math.Abs(got-c.want) > 0.001 {
			t.Errorf("t(0.975, %g) = %.4f, want %.3f", c.df, got, c.want)
		}
	}
	if got := StudentTCDF(0, 5); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("CDF(0) = %g, want 0.5", got)
	}
}

// lanes builds a record whose lanes have the given peak RSS per run (MiB).
func lanes(peaks ...[]float64) *record.Record {
	r := &record.Record{}
	for i, runs := range peaks {
		tg := record.Target{Name: string(rune('a' + i))}
		for _, mib := range runs {
			tg.Runs = append(tg.Runs, record.TargetRun{Samples: []record.Sample{{RSSBytes: uint64(mib * (1 << 20))}}})
		}
		r.Targets = append(r.Targets, tg)
	}
	return r
}

func TestClearlySeparatedLanesAreCalled(t *testing.T) {
	r := lanes([]float64{100, 104, 98, 101, 103}, []float64{91, 95, 89, 92, 93})
	cs := CompareAll(r, []record.Metric{record.MetricPeakRSS}, []int{0, 1})
	if len(cs) != 1 {
		t.Fatalf("got %d comparisons, want 1", len(cs))
	}
	c := cs[0]
	if !c.Significant || c.Below != 5 || c.N != 5 {
		t.Fatalf("got %+v, want a significant difference, lower in 5 of 5", c)
	}
	if c.Ratio < 0.90 || c.Ratio > 0.92 || c.Low > c.Ratio || c.High < c.Ratio || c.High >= 1 {
		t.Fatalf("ratio %.3f (%.3f–%.3f), want about 0.91 with an interval below 1", c.Ratio, c.Low, c.High)
	}
}

func TestOverlappingLanesAreNotCalled(t *testing.T) {
	// The p99 example: medians apart, ranges overlapping, order changing by run.
	r := lanes([]float64{214, 262, 170}, []float64{243, 196, 290})
	for _, c := range CompareAll(r, []record.Metric{record.MetricPeakRSS}, []int{0, 1}) {
		if c.Significant {
			t.Fatalf("called %+v a difference", c)
		}
	}
}

func TestTwoRunsNeverCallADifference(t *testing.T) {
	r := lanes([]float64{100, 100.5}, []float64{50, 50.2})
	c := CompareAll(r, []record.Metric{record.MetricPeakRSS}, []int{0, 1})[0]
	if c.Significant || c.Testable() {
		t.Fatalf("two runs: got %+v, want untestable", c)
	}
}

func TestTinyDeterministicDifferencesAreNotCalled(t *testing.T) {
	// The same 0.2% every run: real, but below MinEffect.
	r := lanes([]float64{100, 200, 300}, []float64{100.2, 200.4, 300.6})
	if c := CompareAll(r, []record.Metric{record.MetricPeakRSS}, []int{0, 1})[0]; c.Significant {
		t.Fatalf("called a 0.2%% difference: %+v", c)
	}
}

func TestHolmCorrectsForManyComparisons(t *testing.T) {
	// p = 0.005 passes alone but not as one of six comparisons.
	cs := []Comparison{{N: 3, P: 0.005, Ratio: 1.2, LogRatio: math.Log(1.2), Unanimous: true}}
	for i := 0; i < 5; i++ {
		cs = append(cs, Comparison{N: 3, P: 0.9, Ratio: 1, Unanimous: true})
	}
	holm(cs)
	if cs[0].Significant {
		t.Fatal("p = 0.005 among six comparisons was called significant")
	}
	one := []Comparison{{N: 3, P: 0.005, Ratio: 1.2, LogRatio: math.Log(1.2), Unanimous: true}}
	holm(one)
	if !one[0].Significant {
		t.Fatal("p = 0.005 alone was not called significant")
	}
}

func TestARunThatContradictsIsNeverCalled(t *testing.T) {
	// Four runs far lower, one slightly higher: the t-test may be sure, the runs are not.
	r := lanes([]float64{100, 100, 100, 100, 100}, []float64{80, 81, 79, 80, 100.5})
	if c := CompareAll(r, []record.Metric{record.MetricPeakRSS}, []int{0, 1})[0]; c.Significant || c.Unanimous {
		t.Fatalf("a difference one run contradicts was called: %+v", c)
	}
}
