package record

import "testing"

// fitTarget is a target whose unlimited run idled at 10 MiB of RSS and peaked at
// 100 MiB in its cgroup at 1,000 req/s, and whose trials had the given outcomes.
func fitTarget(trials ...TargetRun) Target {
	base := TargetRun{
		Phases:  Phases{LoadStart: 2e9, LoadEnd: 4e9, CooldownEnd: 5e9},
		Samples: []Sample{{T: 1e9, RSSBytes: 10 << 20}, {T: 3e9, RSSBytes: 90 << 20}},
		Result:  &LoadResult{ReqPerSec: 1000},
		Cgroup:  &CgroupRun{PeakBytes: 100 << 20, IdleBytes: 4 << 20},
	}
	return Target{Name: "a", Runs: []TargetRun{base}, FitTrials: trials}
}

func trial(limitMiB uint64, rps float64, oom bool) TargetRun {
	run := TargetRun{Result: &LoadResult{ReqPerSec: rps}, Cgroup: &CgroupRun{LimitBytes: limitMiB << 20}}
	if oom {
		run.Result = nil
		run.Exit = &Exit{Signal: "SIGKILL", OOM: &OOMKill{LimitBytes: limitMiB << 20, Phase: PhaseLoad}}
		run.Cgroup.Events.OOMKill = 1
	}
	return run
}

func TestFitSearchFromTheRecord(t *testing.T) {
	plan := FitPlan{Trials: 10, Tolerance: 0.05, MinThroughput: 0.9}
	for _, c := range []struct {
		name      string
		target    Target
		found     bool
		lo, hi    uint64
		converged bool
	}{
		{"bounds before any trial: idle RSS, 1.1x the peak", fitTarget(), false, 10 << 20, pageAlign(110 << 20), false},
		{"a fit lowers the upper bound", fitTarget(trial(110, 990, false)), true, 10 << 20, 110 << 20, false},
		{"an OOM kill raises the lower bound", fitTarget(trial(110, 990, false), trial(33, 0, true)), true, 33 << 20, 110 << 20, false},
		{"too slow does not fit", fitTarget(trial(110, 990, false), trial(60, 800, false)), true, 60 << 20, 110 << 20, false},
		{"within 5% is converged", fitTarget(trial(100, 990, false), trial(96, 0, true)), true, 96 << 20, 100 << 20, true},
		{"failing at the first bound looks higher", fitTarget(trial(110, 0, true)), false, 110 << 20, pageAlign(165 << 20), false},
		{"a second look that fails undoes the find", fitTarget(trial(100, 990, false), trial(96, 0, true), trial(100, 0, true)), false, 100 << 20, pageAlign(150 << 20), false},
	} {
		r := &Record{Plan: Plan{Fit: &plan}, Targets: []Target{c.target}}
		f := Fits(r)[0]
		if f.Found != c.found || f.Lo != c.lo || f.Hi != c.hi || f.Converged(plan.Tolerance) != c.converged {
			t.Errorf("%s: found %v lo %d hi %d converged %v; want %v %d %d %v", c.name, f.Found, f.Lo>>20, f.Hi>>20, f.Converged(plan.Tolerance), c.found, c.lo>>20, c.hi>>20, c.converged)
		}
		next, done := f.Next(plan.Tolerance)
		if done != c.converged {
			t.Errorf("%s: Next says done=%v", c.name, done)
		}
		if !done && (next <= f.Lo || next > f.Hi) {
			t.Errorf("%s: next limit %d MiB is outside (%d, %d]", c.name, next>>20, f.Lo>>20, f.Hi>>20)
		}
	}
}

// An interrupted trial is neither a fit nor a failure: a load stopped 0.6 s into 2 s
// keeps a high rate over the little it ran, and must not lower the bound.
func TestAnInterruptedTrialProvesNothing(t *testing.T) {
	plan := FitPlan{Trials: 10, Tolerance: 0.05, MinThroughput: 0.9}
	stopped := trial(3, 2000, false)
	stopped.Interrupted = true
	r := &Record{Plan: Plan{Fit: &plan}, State: StateInterrupted, Targets: []Target{fitTarget(trial(110, 990, false), stopped)}}
	f := Fits(r)[0]
	if !f.Found || f.Hi != 110<<20 || f.Lo != 10<<20 {
		t.Errorf("found %v lo %d MiB hi %d MiB; want what the completed trial proves: fits at 110 MiB, above 10 MiB", f.Found, f.Lo>>20, f.Hi>>20)
	}
	if len(f.Trials) != 2 || f.Trials[1].Fits || !f.Trials[1].Interrupted || !f.Interrupted {
		t.Errorf("trials %+v, search interrupted %v; want the second trial listed as interrupted, and the search so marked", f.Trials, f.Interrupted)
	}

	base := fitTarget()
	base.Runs[0].Interrupted = true
	if f := Fits(&Record{Plan: Plan{Fit: &plan}, Targets: []Target{base}})[0]; f.Excluded == "" || !f.Interrupted {
		t.Errorf("an interrupted unlimited run gives bounds: %+v", f)
	}
}
