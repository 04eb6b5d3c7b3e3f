package experiment

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
)

// writableCgroups skips a test where this machine gives allocscope no memory cgroup.
func writableCgroups(t *testing.T) *cgroup.Hierarchy {
	t.Helper()
	h, err := machineCgroups()
	if err != nil {
		t.Skipf("no writable memory cgroup here: %v", err)
	}
	return h.(hierarchy).h
}

func noCgroupLeft(t *testing.T, h *cgroup.Hierarchy) {
	t.Helper()
	if _, err := os.Stat(h.Own + "/" + cgroup.Prefix + strconv.Itoa(os.Getpid())); !os.IsNotExist(err) {
		t.Errorf("the run's cgroups are still there (%v)", err)
	}
}

func TestLimitOOMKillsTheLaneOverItAndTheOtherGoesOn(t *testing.T) {
	h := writableCgroups(t)
	self, _ := os.Executable()
	o := shortPlan(t, "system")
	o.Targets = []CustomTarget{{Name: "tiny", Command: "exec " + self + " __tinyserver {port}"}}
	// The large scenario holds 20 live buffers of 5–25 MB: far past 128 MiB for the
	// system build, while the tiny server stays a few MiB whatever it is asked.
	o.Scenario, o.Connections, o.Duration, o.MemoryLimit = "large", 20, 4*time.Second, 128<<20
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	killed, tiny := rec.Targets[0].Runs[0], rec.Targets[1].Runs[0]
	if killed.Exit == nil || killed.Exit.OOM == nil || killed.Exit.OOM.LimitBytes != 128<<20 || killed.Exit.OOM.Phase != record.PhaseLoad {
		t.Fatalf("system's exit: %+v; want an OOM kill at the 128 MiB limit under load", killed.Exit)
	}
	if killed.Cgroup == nil || killed.Cgroup.Events.OOMKill == 0 || killed.Cgroup.PeakBytes > 128<<20 || !killed.Cgroup.PeakExact {
		t.Errorf("system's cgroup: %+v", killed.Cgroup)
	}
	if tiny.Exit.Crashed() || tiny.Result == nil || tiny.Result.Requests == 0 || tiny.Cgroup == nil || tiny.Cgroup.Events.OOMKill != 0 {
		t.Fatalf("the lane with room did not go on: exit %+v result %+v cgroup %+v", tiny.Exit, tiny.Result, tiny.Cgroup)
	}
	if s := tiny.Samples[len(tiny.Samples)-1]; s.CgroupBytes == 0 || s.CgroupAnonBytes == 0 {
		t.Errorf("tiny's samples carry no cgroup figures: %+v", s)
	}
	var oomEvent bool
	for _, ev := range rec.Events {
		oomEvent = oomEvent || (ev.Kind == "oom-kill" && ev.Target == "system")
	}
	if !oomEvent {
		t.Errorf("no oom-kill event for system: %+v", rec.Events)
	}
	var md bytes.Buffer
	report.Markdown(&md, rec)
	for _, want := range []string{"system was OOM-killed at the 128 MiB limit", "s into the load", "Under the 128 MiB limit, tiny fit; the OOM killer struck system.", "### Memory cgroups (cgroup v1)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the report does not say %q:\n%s", want, md.String())
		}
	}
	noCgroupLeft(t, h)
}

func TestFitFindsALimitARunThenCompletesUnder(t *testing.T) {
	h := writableCgroups(t)
	o := shortPlan(t, "jemalloc")
	o.Scenario, o.Duration, o.Cooldown, o.Fit, o.FitTrials = "json", 2*time.Second, 500*time.Millisecond, true, 8
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	fits := record.Fits(rec)
	if len(fits) != 1 || !fits[0].Found || len(fits[0].Trials) == 0 {
		t.Fatalf("no limit found: %+v", fits)
	}
	f := fits[0]
	if len(rec.Targets[0].Runs) != 1 || rec.Targets[0].Runs[0].Cgroup.LimitBytes != 0 {
		t.Errorf("the record's runs should be the unlimited one alone: %d runs", len(rec.Targets[0].Runs))
	}
	var md bytes.Buffer
	report.Markdown(&md, rec)
	// A search slowed down (under -race) may end on its trial budget, its limit then
	// reported as an upper bound ("needs at most"): still a limit the scenario completes under.
	needs := "Smallest container: jemalloc needs " + record.MiBString(f.Hi)
	if !f.Converged(rec.Plan.Fit.Tolerance) {
		needs = "Smallest container: jemalloc needs at most " + record.MiBString(f.Hi)
	}
	if !strings.Contains(md.String(), "### Smallest container (--fit)") || !strings.Contains(md.String(), needs) {
		t.Errorf("the report has no fit:\n%s", md.String())
	}
	noCgroupLeft(t, h)

	again := shortPlan(t, "jemalloc")
	again.Scenario, again.Duration, again.Cooldown, again.MemoryLimit = "json", 2*time.Second, 500*time.Millisecond, f.Hi
	rec, err = runPlan(t, context.Background(), again, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := rec.Targets[0].Runs[0]
	if run.Exit.Crashed() || run.Cgroup.Events.OOMKill != 0 || run.Result == nil || run.Result.Requests == 0 {
		t.Fatalf("a run at the fitted %s did not complete cleanly: exit %v, cgroup %+v", record.MiBString(f.Hi), run.Exit, run.Cgroup)
	}
}
