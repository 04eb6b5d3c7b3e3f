package verdict

import (
	"strings"
	"testing"

	"github.com/allocscope/allocscope/record"
)

// holmFamily is a comparison with the given runs among fillers that differ in nothing,
// corrected together: family comparisons in all.
func holmFamily(c Comparison, family int) Comparison {
	cs := []Comparison{c}
	for len(cs) < family {
		cs = append(cs, Compare(lanes([]float64{100, 101, 99}, []float64{100.5, 100, 99.5}), record.MetricPeakRSS, 0, 1))
	}
	Correct(cs)
	return cs[0]
}

func TestEachUncalledIntervalThatExcludesOneSaysWhy(t *testing.T) {
	peak := record.MetricPeakRSS
	for _, c := range []struct {
		name   string
		c      Comparison
		reason Reason
		why    string
	}{
		{"two runs", holmFamily(Compare(lanes([]float64{100, 100.5}, []float64{50, 50.2}), peak, 0, 1), 1),
			TooFewRuns, "2 runs, too few to test (3 needed)"},
		{"one of eighteen", holmFamily(Compare(lanes([]float64{100, 104, 96, 101}, []float64{95, 100, 91, 96.5}), peak, 0, 1), 18),
			HolmThreshold, "p = 0.012 after Holm over 18 comparisons needs < 0.01"},
		{"half a percent", holmFamily(Compare(lanes([]float64{100, 200, 300}, []float64{100.5, 201, 301.5}), peak, 0, 1), 1),
			UnderMinEffect, "under the 1% minimum"},
		{"one run the other way", holmFamily(Compare(lanes([]float64{100, 100, 100, 100, 100, 100, 100, 100}, []float64{90, 90.5, 89.5, 90, 90.2, 89.8, 90.1, 100.5}), peak, 0, 1), 1),
			NotUnanimous, "not every run went the same way: 7 of 8"},
	} {
		if !c.c.ExcludesOne() || c.c.Significant || c.c.Reason != c.reason || c.c.Why() != c.why {
			t.Errorf("%s: excludes 1 %v, called %v, reason %v %q; want %v %q (%+v)", c.name, c.c.ExcludesOne(), c.c.Significant, c.c.Reason, c.c.Why(), c.reason, c.why, c.c)
		}
	}
	// An interval that includes 1 needs no reason, and a call has none.
	if c := holmFamily(Compare(lanes([]float64{100, 101, 99}, []float64{100.5, 100, 99.5}), peak, 0, 1), 1); c.ExcludesOne() || c.Reason != NoReason {
		t.Errorf("an interval across 1: %+v", c)
	}
	if c := holmFamily(Compare(lanes([]float64{100, 104, 98, 101, 103}, []float64{91, 95, 89, 92, 93}), peak, 0, 1), 1); !c.Significant || c.Reason != NoReason {
		t.Errorf("a call: %+v", c)
	}
}

func TestACycledRunsFiguresAreGateKeys(t *testing.T) {
	g, err := ParseGate("rss_after_idle>10%,release_half>+50%")
	if err != nil || len(g) != 2 || g[0].Metric.Key != record.MetricRSSAfterIdle.Key || !g[0].Above || g[0].Percent != 10 {
		t.Fatalf("ParseGate: %+v, %v", g, err)
	}
	if _, err := ParseGate("growth>+10%"); err == nil || !strings.Contains(err.Error(), "rss_after_idle") {
		t.Errorf("the growth slope is no ratio to gate on, and the error should list the keys: %v", err)
	}
}
