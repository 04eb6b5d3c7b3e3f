package experiment

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

func TestFakeCyclesRunInOrderWithIdleBetweenAndKeepTheirPhases(t *testing.T) {
	o := fakePlan(t)
	o.Cycles, o.Idle = 3, 40*time.Millisecond
	rec, err := runFake(t, context.Background(), o, newFakeParts())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Plan.Cycles, 3; got != want || rec.Plan.Idle != o.Idle {
		t.Fatalf("plan keeps %d cycles, idle %s; want %d, %s", got, rec.Plan.Idle, want, o.Idle)
	}
	for _, tg := range rec.Targets {
		r := tg.Runs[0]
		if len(r.Cycles) != 3 {
			t.Fatalf("%s: %d cycles, want 3: %+v", tg.Name, len(r.Cycles), r.Cycles)
		}
		prevEnd := r.Phases.Start
		for k, c := range r.Cycles {
			if c.Index != k+1 || !(prevEnd < c.LoadStart && c.LoadStart < c.LoadEnd && c.LoadEnd < c.IdleEnd) {
				t.Fatalf("%s: cycle %d out of order after %s: %+v", tg.Name, k+1, prevEnd, c)
			}
			if c.IdleEnd-c.LoadEnd < o.Idle {
				t.Errorf("%s: cycle %d idled %s, want at least %s", tg.Name, c.Index, c.IdleEnd-c.LoadEnd, o.Idle)
			}
			if c.Peak == nil || c.Peak.Source != record.PeakKernel || c.Peak.Bytes != 12<<20 {
				t.Errorf("%s: cycle %d peak %+v, want the kernel's", tg.Name, c.Index, c.Peak)
			}
			prevEnd = c.IdleEnd
		}
		p, first, last := r.Phases, r.Cycles[0], r.Cycles[2]
		if p.LoadStart != first.LoadStart || p.LoadEnd != last.LoadEnd || p.CooldownEnd != last.IdleEnd {
			t.Errorf("%s: phases %+v do not span the cycles %+v", tg.Name, p, r.Cycles)
		}
		if r.Result == nil || r.Result.Requests != 3*300 {
			t.Errorf("%s: result %+v, want the three loads' 900 requests", tg.Name, r.Result)
		}
		if ret := record.RetentionOf(r); ret == nil || len(ret.Cycles) != 3 {
			t.Errorf("%s: retention %+v", tg.Name, ret)
		}
	}
	var cycles []string
	for _, ev := range rec.Events {
		if ev.Kind == record.EventCycle {
			cycles = append(cycles, ev.Message)
		}
	}
	if got, want := strings.Join(cycles, "; "), "cycle 1 of 3; cycle 2 of 3; cycle 3 of 3"; got != want {
		t.Errorf("cycle events %q, want %q", got, want)
	}
}

func TestFakeSoakStopsStartingCyclesOnceItsTimeHasPassed(t *testing.T) {
	o := fakePlan(t)
	o.Soak, o.Idle = 150*time.Millisecond, 20*time.Millisecond
	rec, err := runFake(t, context.Background(), o, newFakeParts())
	if err != nil {
		t.Fatal(err)
	}
	r := rec.Targets[0].Runs[0]
	if len(r.Cycles) < 2 {
		t.Fatalf("%d cycles in a soak of 150ms with cycles of 80ms, want 2 or more", len(r.Cycles))
	}
	// Every cycle but the last began before the soak's time had passed.
	if before := r.Cycles[len(r.Cycles)-2].LoadStart - r.Cycles[0].LoadStart; before >= o.Soak {
		t.Errorf("a cycle began %s into a soak of %s", before, o.Soak)
	}
	if last := r.Cycles[len(r.Cycles)-1]; last.IdleEnd == 0 {
		t.Errorf("the soak's last cycle did not run its idle: %+v", last)
	}
}

func TestFakeShapeRunsItsStepsInOrderInEachCycle(t *testing.T) {
	o := fakePlan(t)
	o.Allocators = []string{"system"}
	o.Cycles = 2
	o.Shape = []record.RateStep{{Rate: 10, Duration: 30 * time.Millisecond}, {Rate: 100, Duration: 30 * time.Millisecond}}
	f := newFakeParts()
	rec, err := runFake(t, context.Background(), o, f)
	if err != nil {
		t.Fatal(err)
	}
	var rates []float64
	for _, c := range f.configs {
		rates = append(rates, c.Rate)
		if c.Duration != 30*time.Millisecond {
			t.Errorf("a step ran for %s, want 30ms", c.Duration)
		}
	}
	if got, want := rates, []float64{10, 100, 10, 100}; len(got) != len(want) || got[0] != 10 || got[1] != 100 || got[2] != 10 || got[3] != 100 {
		t.Fatalf("the loads' rates %v, want %v", got, want)
	}
	if r := rec.Targets[0].Runs[0]; r.Result == nil || r.Result.Requests != 4*300 {
		t.Errorf("result %+v, want every step's requests", r.Result)
	}
}

func TestShapes(t *testing.T) {
	for _, c := range []struct {
		spec  string
		rate  float64
		d     time.Duration
		rates []float64
		err   string
	}{
		{spec: "steady", rate: 100, d: 10 * time.Second},
		{spec: "burst", rate: 1000, d: 10 * time.Second, rates: []float64{100, 1000, 100, 1000, 100}},
		{spec: "ramp", rate: 100, d: 10 * time.Second, rates: []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}},
		{spec: "50:2s,500:1s", rates: []float64{50, 500}},
		{spec: "burst", d: 10 * time.Second, err: "-R"},
		{spec: "ramp", rate: 100, d: 5 * time.Second, err: "-d 10s"},
		{spec: "sawtooth", err: "steady, burst, ramp"},
		{spec: "50:2s,0:1s", err: "rate above 0"},
		{spec: "50:100ms", err: "1s or more"},
	} {
		steps, err := ParseShape(c.spec, c.rate, c.d)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one saying %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil || len(steps) != len(c.rates) {
			t.Fatalf("%s: %v, %+v", c.spec, err, steps)
		}
		for k, s := range steps {
			if int(s.Rate+0.5) != int(c.rates[k]+0.5) {
				t.Errorf("%s: step %d at %g, want %g", c.spec, k, s.Rate, c.rates[k])
			}
		}
		if len(steps) > 0 && c.d > 0 && ShapeDuration(steps) != c.d {
			t.Errorf("%s: lasts %s, want %s", c.spec, ShapeDuration(steps), c.d)
		}
	}
}
