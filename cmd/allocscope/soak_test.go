package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

// journalSize is the size of a running record's journal (0 when there is none yet).
func journalSize(save string) int64 {
	names, _ := filepath.Glob(save + ".journal.*")
	var n int64
	for _, name := range names {
		if st, err := os.Stat(name); err == nil {
			n += st.Size()
		}
	}
	return n
}

func TestKilledSoakLeavesARecordThatReportReads(t *testing.T) {
	cmd, save, stderr := startRun(t, "--allocators", "system", "-c", "5", "-d", "2", "--idle", "1",
		"--cycles", "50", "--baseline", "0", "--interval", "250ms")
	defer cmd.Process.Kill()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(stderr.String(), "cycle 2/50") {
		if time.Now().After(deadline) {
			t.Fatalf("the second cycle never started: %s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Two autosaves into the second cycle, then kill -9.
	for grown, last := 0, journalSize(save); grown < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the journal stopped growing at %d bytes", last)
		}
		time.Sleep(50 * time.Millisecond)
		if n := journalSize(save); n > last {
			grown, last = grown+1, n
		}
	}
	killed := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	if stdout, errOut, code := allocscope(t, "report", save); code != 0 || !strings.Contains(stdout, "system") {
		t.Fatalf("report of the killed soak: exit %d, %s%s", code, stdout, errOut)
	}
	rec, err := record.Load(save)
	if err != nil {
		t.Fatal(err)
	}
	run := rec.Targets[0].Runs[0]
	if rec.State != record.StateRunning || len(run.Cycles) < 2 || run.Cycles[0].IdleEnd == 0 {
		t.Fatalf("state %s, cycles %+v: want a running record with its first cycle whole", rec.State, run.Cycles)
	}
	// Autosaves come every 3 s: what is lost is the seconds since the last one, and the
	// record holds every sample up to it.
	last := run.Samples[len(run.Samples)-1].T
	if lost := killed.Sub(rec.Started) - last; lost > 10*time.Second {
		t.Errorf("the record ends %s before the kill", lost)
	}
	for k := 1; k < len(run.Samples); k++ {
		if d := run.Samples[k].T - run.Samples[k-1].T; d > 5*time.Second || d <= 0 {
			t.Fatalf("samples %d and %d are %s apart: the journal lost or repeated a line", k-1, k, d)
		}
	}
}

func TestBadCycleFlagsAreOneLineAndExitCode2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--idle", "5s"}, "--cycles N or --soak D"},
		{[]string{"--cycles", "0"}, "--cycles 0"},
		{[]string{"--shape", "burst"}, "-R"},
		{[]string{"--shape", "sawtooth"}, "steady, burst, ramp"},
		{[]string{"--shape", "100:5s", "-d", "10"}, "leave -d out"},
	} {
		_, stderr, code := allocscope(t, append([]string{"run", "--headless", "--allocators", "system"}, c.args...)...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 and one line saying %q", c.args, code, stderr, c.want)
		}
	}
}
