package record

import "testing"

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
