package report

import (
	"strings"
	"testing"

	"github.com/allocscope/allocscope/record"
)

// The case: trial 3 ran 0.59 s of its 2 s load when SIGTERM came, and the
// report took its rate over those 0.59 s for a fit at 2.9 MiB.
func TestAnInterruptedFitSaysSoAndCountsOnlyCompletedTrials(t *testing.T) {
	plan := record.FitPlan{Trials: 10, Tolerance: 0.05, MinThroughput: 0.9}
	trial := func(limit uint64, rps float64, interrupted bool) record.TargetRun {
		return record.TargetRun{Result: &record.LoadResult{ReqPerSec: rps}, Cgroup: &record.CgroupRun{LimitBytes: limit}, Interrupted: interrupted}
	}
	base := record.TargetRun{
		Phases:  record.Phases{LoadStart: 2e9, LoadEnd: 4e9, CooldownEnd: 5e9},
		Samples: []record.Sample{{T: 1e9, RSSBytes: 2 << 20}, {T: 3e9, RSSBytes: 9 << 20}},
		Result:  &record.LoadResult{ReqPerSec: 1000},
		Cgroup:  &record.CgroupRun{PeakBytes: 10 << 20, IdleBytes: 1 << 20},
	}
	r := &record.Record{Plan: record.Plan{Fit: &plan}, State: record.StateInterrupted, Targets: []record.Target{{
		Name: "system", Allocator: "system", Runs: []record.TargetRun{base},
		FitTrials: []record.TargetRun{trial(11<<20, 990, false), trial(5<<20, 980, false), trial(2969<<10, 3000, true)},
	}}}
	got := strings.Join(fitConclusion(r), "\n")
	for _, want := range []string{"The --fit search was interrupted before it ended", "Smallest container: system needs at most 5 MiB."} {
		if !strings.Contains(got, want) {
			t.Errorf("the conclusion does not say %q:\n%s", want, got)
		}
	}
	var b strings.Builder
	writeFit(&b, r)
	if !strings.Contains(b.String(), "2.9 MiB interrupted before its end (not counted)") {
		t.Errorf("the trials do not show the interrupted one as not counted:\n%s", b.String())
	}
}
