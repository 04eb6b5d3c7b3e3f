package record

import (
	"testing"
	"time"
)

func TestAMissingVSZIsUnknownNotTheLowest(t *testing.T) {
	run := func(vsz uint64) TargetRun {
		return TargetRun{Samples: []Sample{{T: 1e9, RSSBytes: 10 << 20, VSZBytes: vsz}, {T: 2e9, RSSBytes: 12 << 20, VSZBytes: vsz}}}
	}
	r := &Record{Targets: []Target{
		{Name: "local", Runs: []TargetRun{run(300 << 20)}},
		{Name: "remote", Kind: KindRemote, Runs: []TargetRun{run(0)}},
	}}
	sums := Summarize(r)
	if got := sums[0].PeakVSZ; !got.Known() || got.Median != 300<<20 {
		t.Errorf("local lane's peak VSZ: %+v, want 300 MiB", got)
	}
	if got := sums[1].PeakVSZ; got.Known() {
		t.Errorf("a lane whose source gives no VSZ has a known peak VSZ %+v: it would read as the lowest", got)
	}
	if got := sums[1].PeakRSS; !got.Known() || got.Median != 12<<20 {
		t.Errorf("its RSS is still known: %+v", got)
	}
}

// A record whose cycles were merged without their histograms holds p50 = p99 = 0 over
// thousands of requests: unknown, never "the lowest p99 latency (0.00 ms)".
func TestAZeroPercentileOverRequestsIsUnknown(t *testing.T) {
	r := &Record{Targets: []Target{
		{Name: "merged", Runs: []TargetRun{{Result: &LoadResult{Requests: 50000, ReqPerSec: 25000, Max: 7 * 1e9}}}},
		{Name: "measured", Runs: []TargetRun{{Result: &LoadResult{Requests: 50000, ReqPerSec: 25000, P50: 4e5, P99: 3e6}}}},
	}}
	sums := Summarize(r)
	if sums[0].P99.Known() || sums[0].P50.Known() {
		t.Errorf("merged lane's p50 %+v p99 %+v: known, though never measured", sums[0].P50, sums[0].P99)
	}
	if !sums[1].P99.Known() || sums[1].P99.Median != 3e6 {
		t.Errorf("measured lane's p99 %+v, want 3 ms", sums[1].P99)
	}
}

func TestAReleaseKeptInMostCyclesHasNoTime(t *testing.T) {
	at := func(s float64) Release { return Release{After: time.Duration(s * float64(time.Second)), Known: true} }
	kept := Release{Kept: true, Known: true}
	of := func(f CycleFigures) Release { return f.ReleaseHalf }
	for _, tc := range []struct {
		rels []Release
		want Release
	}{
		// One cycle of three kept it: the median is still a time, and exact.
		{[]Release{at(2), kept, at(4)}, at(4)},
		{[]Release{kept, kept, at(4)}, kept},
		{[]Release{{}, at(3)}, at(3)},
		{[]Release{{}}, Release{}},
	} {
		var cs []CycleFigures
		for _, r := range tc.rels {
			cs = append(cs, CycleFigures{ReleaseHalf: r})
		}
		if got := MedianRelease(cs, of); got != tc.want {
			t.Errorf("%v: %+v, want %+v", tc.rels, got, tc.want)
		}
	}
	// A run whose median kept it has no release time to compare.
	l := lane{cycles: 3, load: 10 * time.Second, idle: 10 * time.Second, rest: func(int) float64 { return 100 }, gain: 40, decay: 2 * time.Second}
	run := l.run()
	if v, ok := MetricReleaseHalf.Of(run); !ok || v != float64(2*time.Second) {
		t.Errorf("release half of a lane that gives back in 2 s: %v, %v", v, ok)
	}
	if v, ok := MetricRSSAfterIdle.Of(run); !ok || v != 100*mib {
		t.Errorf("RSS after idle: %v, %v; want 100 MiB", v, ok)
	}
	l.decay = 0
	l.rest = func(k int) float64 { return 100 + 40*float64(k) } // it keeps every load's memory
	if v, ok := MetricReleaseHalf.Of(l.run()); ok {
		t.Errorf("release half of a lane that kept its load memory: %v, want none", v)
	}
}
