package record

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

const mib = 1 << 20

// lane describes a synthetic cycled run: rest(k) is the RSS (MiB) the lane rests at
// before cycle k's load, gain what the load adds, and decay how fast it gives the
// gain back after the load (0: it keeps it until the next cycle).
type lane struct {
	cycles      int
	load, idle  time.Duration
	rest        func(k int) float64
	gain        float64
	decay       time.Duration
	dropSamples func(k int, t time.Duration) bool
}

func (l lane) run() TargetRun {
	var run TargetRun
	step := time.Second
	t := 10 * time.Second
	for s := time.Duration(0); s < t; s += step {
		run.Samples = append(run.Samples, Sample{T: s, RSSBytes: uint64(l.rest(0) * mib)})
	}
	for k := 0; k < l.cycles; k++ {
		c := Cycle{Index: k + 1, LoadStart: t, LoadEnd: t + l.load, IdleEnd: t + l.load + l.idle}
		run.Cycles = append(run.Cycles, c)
		for s := c.LoadStart; s < c.IdleEnd; s += step {
			if l.dropSamples != nil && l.dropSamples(k, s-c.LoadStart) {
				continue
			}
			v := l.rest(k) + l.gain
			if s >= c.LoadEnd {
				if l.decay > 0 {
					v = l.rest(k+1) + l.gain*math.Exp(-float64(s-c.LoadEnd)/float64(l.decay))
				}
			}
			run.Samples = append(run.Samples, Sample{T: s, RSSBytes: uint64(v * mib)})
		}
		// The idle's last sample lands on its end.
		if l.dropSamples == nil || !l.dropSamples(k, c.IdleEnd-c.LoadStart) {
			run.Samples = append(run.Samples, Sample{T: c.IdleEnd, RSSBytes: uint64(l.rest(k+1) * mib)})
		}
		t = c.IdleEnd + step
	}
	return run
}

func noisy(seed uint64, base, leakPerCycle, amplitude float64) func(int) float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	noise := make([]float64, 64)
	for i := range noise {
		noise[i] = amplitude * (2*rng.Float64() - 1)
	}
	return func(k int) float64 { return base + leakPerCycle*float64(k) + noise[k] }
}

func TestRetentionTellsALeakFromAFlatLane(t *testing.T) {
	// 8 cycles of 60 s load and 60 s idle: 2 minutes a cycle, so 10 MiB a cycle is 300 MiB/h.
	leaking := lane{cycles: 8, load: time.Minute, idle: time.Minute, rest: noisy(1, 100, 10, 1.5), gain: 40, decay: 3 * time.Second}
	flat := lane{cycles: 8, load: time.Minute, idle: time.Minute, rest: noisy(2, 100, 0, 0.4), gain: 40, decay: 3 * time.Second}
	noisyFlat := lane{cycles: 8, load: time.Minute, idle: time.Minute, rest: noisy(3, 100, 0, 4), gain: 40, decay: 3 * time.Second}

	r := RetentionOf(leaking.run())
	// The idle's end sample is at the idle's end, one second after the last cycle
	// boundary each time: 121 s a cycle, so the rate the fit sees is 10 MiB/121 s.
	const rate = 10.0 * 3600 / 121
	if g := r.Growth; !(g.Low <= rate && rate <= g.High) || g.Low <= 0 {
		t.Errorf("leaking lane: %s; want an interval holding %.0f MiB/h and excluding 0", g, rate)
	}
	if !strings.HasPrefix(r.Verdict, "keeps growing: +") {
		t.Errorf("leaking lane's verdict %q", r.Verdict)
	}
	if g := r.PeakGrowth; g.Low <= 0 {
		t.Errorf("leaking lane's peaks: %s; want growth", g)
	}

	r = RetentionOf(flat.run())
	if g := r.Growth; g.Low > 0 || g.High < 0 {
		t.Errorf("flat lane: %s; want an interval holding 0", g)
	}
	if r.Verdict != "levelled off after cycle 1" {
		t.Errorf("flat lane's verdict %q", r.Verdict)
	}

	r = RetentionOf(noisyFlat.run())
	if g := r.Growth; g.Low > 0 || g.High < 0 {
		t.Errorf("noisy flat lane: %s; want an interval holding 0", g)
	}
	if !strings.HasPrefix(r.Verdict, "no clear trend: ") && !strings.HasPrefix(r.Verdict, "levelled off") {
		t.Errorf("noisy flat lane's verdict %q claims a trend", r.Verdict)
	}
}

func TestRetentionVerdicts(t *testing.T) {
	steps := func(v ...float64) func(int) float64 {
		return func(k int) float64 { return v[min(k, len(v)-1)] }
	}
	for _, c := range []struct {
		name string
		rest func(int) float64
		n    int
		want string
	}{
		{"grows then levels", steps(100, 130, 160, 190, 190.3, 189.8, 190.1, 190.2, 189.9), 8, "levelled off after cycle 3"},
		{"keeps growing", steps(100, 110, 120, 130, 140, 150, 160, 170, 180), 8, "keeps growing: +298 MiB/h (298–298)"},
		{"shrinking", steps(300, 290, 280, 270, 260, 250, 240, 230, 220), 8, "shrinking: -298 MiB/h (-298 to -298)"},
		{"two cycles", steps(100, 200, 300), 2, "too few cycles to tell"},
		{"one cycle", steps(100, 200), 1, "too few cycles to tell"},
		{"level for the last two only", steps(100, 140, 110, 120, 150, 150.5), 5, "levelled off after cycle 4"},
	} {
		l := lane{cycles: c.n, load: time.Minute, idle: time.Minute, rest: c.rest, gain: 20, decay: time.Second}
		if got := RetentionOf(l.run()).Verdict; got != c.want {
			t.Errorf("%s: verdict %q, want %q", c.name, got, c.want)
		}
	}
}

func TestReleaseTimesOnSyntheticDecays(t *testing.T) {
	// RSS falls as 50·e^(−t/4 s) after the load: half by 4·ln 2 = 2.8 s, so the 3 s
	// sample; 90% by 4·ln 10 = 9.2 s, so the 10 s sample.
	decaying := lane{cycles: 3, load: 30 * time.Second, idle: 30 * time.Second, rest: func(int) float64 { return 100 }, gain: 50, decay: 4 * time.Second}
	r := RetentionOf(decaying.run())
	for _, f := range r.Cycles {
		if f.GainedBytes != 50*mib || f.ReleaseHalf != (Release{After: 3 * time.Second, Known: true}) || f.Release90 != (Release{After: 10 * time.Second, Known: true}) {
			t.Errorf("cycle %d: gained %d, half %+v, 90%% %+v", f.Index, f.GainedBytes, f.ReleaseHalf, f.Release90)
		}
	}
	// A lane that keeps what the load added: its rest level is the loaded level.
	keeping := lane{cycles: 3, load: 30 * time.Second, idle: 30 * time.Second, rest: func(k int) float64 { return 100 + 50*float64(k) }, gain: 50}
	for _, f := range RetentionOf(keeping.run()).Cycles {
		if !f.ReleaseHalf.Kept || f.ReleaseHalf.String() != "kept" || !f.Release90.Kept {
			t.Errorf("cycle %d of a lane that kept it: half %+v, 90%% %+v", f.Index, f.ReleaseHalf, f.Release90)
		}
	}
}

func TestRetentionWithMissingSamples(t *testing.T) {
	// Cycle 2's idle has no sample: its RSS after idle is unknown and left out of the fit.
	l := lane{cycles: 4, load: time.Minute, idle: time.Minute, rest: func(k int) float64 { return 100 + 10*float64(k) }, gain: 20, decay: time.Second,
		dropSamples: func(k int, into time.Duration) bool { return k == 1 && into >= time.Minute }}
	r := RetentionOf(l.run())
	if f := r.Cycles[1]; f.AfterIdle != 0 || f.RSSAfterIdleBytes != 0 || f.ReleaseHalf.Known {
		t.Errorf("a cycle without idle samples: %+v", f)
	}
	if r.Growth.N != 3 || r.Cycles[0].AfterIdle == 0 {
		t.Errorf("fit over %d points, want the 3 cycles with samples", r.Growth.N)
	}
	// A run that ended in its last idle: the release cannot be called kept.
	run := lane{cycles: 2, load: time.Minute, idle: time.Minute, rest: func(int) float64 { return 100 }, gain: 20}.run()
	for len(run.Samples) > 0 && run.Samples[len(run.Samples)-1].T >= run.Cycles[1].IdleEnd {
		run.Samples = run.Samples[:len(run.Samples)-1]
	}
	run.Cycles[1].IdleEnd = 0
	if f := RetentionOf(run).Cycles[1]; f.ReleaseHalf.Known || f.AfterIdle != 0 {
		t.Errorf("an unfinished idle: %+v", f)
	}
	if RetentionOf(TargetRun{Samples: run.Samples}) != nil {
		t.Error("a run without cycles has a retention")
	}
	if r := RetentionOf(TargetRun{Cycles: []Cycle{{Index: 1, LoadStart: time.Second, LoadEnd: 2 * time.Second, IdleEnd: 3 * time.Second}}}); r.Verdict != "too few cycles to tell" || r.Cycles[0].PeakSource != "" {
		t.Errorf("a cycle without samples: %+v", r)
	}
}

func TestCycleFiguresTakeKernelPeaksLazyFreeWorkingSetAndHeap(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	run := TargetRun{
		Cycles: []Cycle{{Index: 1, LoadStart: 10 * time.Second, LoadEnd: 20 * time.Second, IdleEnd: 30 * time.Second, Peak: &PeakRSS{Bytes: 90 * mib, Source: PeakKernel}}},
		Samples: []Sample{
			{T: 5 * time.Second, RSSBytes: 40 * mib},
			{T: 15 * time.Second, RSSBytes: 80 * mib, CgroupWorkingSetBytes: 70 * mib},
			{T: 25 * time.Second, RSSBytes: 60 * mib, CgroupWorkingSetBytes: 50 * mib},
			{T: 30 * time.Second, RSSBytes: 60 * mib, PSSBytes: 55 * mib, LazyFreeBytes: 15 * mib},
		},
		Heap: []HeapStats{{T: 29 * time.Second, CommittedBytes: u(30 * mib), LiveBytes: 20 * mib}},
	}
	f := RetentionOf(run).Cycles[0]
	want := CycleFigures{Index: 1, Load: 10 * time.Second, Idle: 10 * time.Second, PeakRSSBytes: 90 * mib, PeakSource: PeakKernel, RSSAfterIdleBytes: 60 * mib, AfterIdle: 30 * time.Second,
		LazyFreeAfterIdleBytes: 15 * mib, HeldAfterIdleBytes: 45 * mib, GainedBytes: 40 * mib,
		ReleaseHalf: Release{After: 5 * time.Second, Known: true}, Release90: Release{Kept: true, Known: true},
		WorkingSetPeakBytes: 70 * mib, RetainedRatio: 1.5}
	if f != want {
		t.Errorf("got  %+v\nwant %+v", f, want)
	}
}

func TestTheilSenInterval(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	// One wild point cannot move the slope, and the interval is the 6th to the 23rd of
	// the 28 sorted pairwise slopes: Sen's ranks (28 ∓ 1.96·√(8·7·21/18))/2.
	y := []float64{1, 2, 3, 4, 50, 6, 7, 8}
	tr := TheilSen(x, y)
	if tr.Slope != 1 || tr.N != 8 {
		t.Errorf("slope %v over %d points, want 1 over 8", tr.Slope, tr.N)
	}
	var slopes []float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			slopes = append(slopes, (y[j]-y[i])/(x[j]-x[i]))
		}
	}
	sorted := append([]float64(nil), slopes...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j] < sorted[i] {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	if tr.Low != sorted[5] || tr.High != sorted[22] {
		t.Errorf("interval %v–%v, want %v–%v", tr.Low, tr.High, sorted[5], sorted[22])
	}
	// With 3 points the interval spans every pairwise slope.
	if tr := TheilSen([]float64{0, 1, 2}, []float64{0, 3, 2}); tr.Low != -1 || tr.High != 3 || tr.Slope != 1 {
		t.Errorf("3 points: %+v", tr)
	}
	if tr := TheilSen([]float64{0, 1}, []float64{0, 3}); tr.Known() {
		t.Errorf("2 points: %+v is known", tr)
	}
}
