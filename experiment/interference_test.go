package experiment

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
)

// startHog starts n busy loops outside this process's tree: the shell that starts them
// exits at once, so they are reparented away, as someone else's work would be. They are
// killed by their process group at the end, and kill themselves after two minutes should
// the test die first.
func startHog(t *testing.T, n int) {
	t.Helper()
	script := fmt.Sprintf(`for i in $(seq %d); do timeout --foreground -s KILL 120 sh -c 'while :; do :; done' & done`, n)
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Run(); err != nil {
		t.Fatalf("cannot start the CPU hog: %v", err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGKILL) })
}

func TestAHogBesideARunIsMeasuredAndTheRunIsNotCompared(t *testing.T) {
	// Four loops a core: more runnable threads than the two lanes and their load workers
	// have, so the scheduler gives the hog most of the machine.
	startHog(t, 4*runtime.NumCPU())
	o := shortPlan(t, "system", "jemalloc")
	o.Connections = 10
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := rec.Interference
	if in == nil || len(in.UnderLoad(rec)) == 0 {
		t.Fatalf("no CPU readings under load: %+v", in)
	}
	var servers, generators float64
	for _, s := range in.UnderLoad(rec) {
		servers += s.ServersPct
		generators += s.GeneratorsPct
	}
	t.Logf("under load: other work %.0f%% (up to %.0f%%) of the machine's CPU; servers %.0f%%, load generators %.0f%% summed over %d readings",
		in.MeanOtherPct, in.MaxOtherPct, servers, generators, len(in.UnderLoad(rec)))
	if in.MeanOtherPct <= record.BusyOtherPct || !in.Busy {
		t.Fatalf("other work measured at %.0f%% of the machine's CPU under load (busy %v) beside %d busy loops", in.MeanOtherPct, in.Busy, 4*runtime.NumCPU())
	}
	// The experiment's own processes are told apart from the hog, not counted in it.
	if servers == 0 || generators == 0 {
		t.Fatalf("the servers' (%.1f) or the load generators' (%.1f) CPU was not seen", servers, generators)
	}
	md := markdown(t, rec)
	for _, want := range []string{"**Warning: the machine was busy with other work (", "- Not compared: the machine was busy with other work ("} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q", want)
		}
	}
	if v := report.Judge(rec); len(v.Comparisons) != 0 {
		t.Errorf("a busy run's verdict compares %d figures", len(v.Comparisons))
	}
	c, err := report.CompareRecords(report.Named{Name: "a", Rec: rec}, []report.Named{{Name: "b", Rec: rec}}, nil)
	if err != nil || len(c.Refused) != 2 || len(c.Figures) != 0 {
		t.Errorf("compare of a busy run: %v, refused %q, %d figures", err, c.Refused, len(c.Figures))
	}
}
