package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/tune"
	"github.com/allocscope/allocscope/verdict"
)

func TestTuneRecommendsOnlyWhatItsRepeatedRunsBack(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := allocscope(t, "tune", "--allocators", "system", "--knobs", "arena_max", "--threads", "8", "-c", "20", "-d", "1",
		"--baseline", "0", "--cooldown", "0", "--confirm-runs", "3", "--budget", "1m", "--scenario", "churn", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(filepath.Join(dir, "tune.json"))
	if err != nil {
		t.Fatal(err)
	}
	var outs []tune.Outcome
	if err := json.Unmarshal(data, &outs); err != nil || len(outs) != 1 {
		t.Fatalf("tune.json: %v, %d outcomes", err, len(outs))
	}
	out := outs[0]
	if len(out.Trials) == 0 || out.Trials[0].Stage != "screen" || len(out.Trials[0].Results) != 3 {
		t.Fatalf("want a screen of arena_max's 3 values first, got %+v", out.Trials)
	}
	for _, tr := range out.Trials {
		if _, err := loadRecord(tr.Record); err != nil {
			t.Errorf("trial %s: its record %s: %v", tr.Stage, tr.Record, err)
		}
	}
	first := strings.SplitN(stdout, "\n", 2)[0]
	if out.Recommended == "" {
		if first != "system: keep the defaults" || !strings.Contains(out.Why, "keep the defaults") {
			t.Errorf("no recommendation, but stdout says %q and why %q", first, out.Why)
		}
		return
	}
	// A recommendation stands on its confirming runs: the paired test calls it lower.
	if first != "system: "+out.Recommended || !strings.HasPrefix(out.Recommended, "MALLOC_ARENA_MAX=") {
		t.Errorf("stdout %q, recommended %q", first, out.Recommended)
	}
	last := out.Trials[len(out.Trials)-1]
	rec, err := loadRecord(last.Record)
	if err != nil || last.Stage != "confirm" || last.Runs < 3 {
		t.Fatalf("last trial %+v: %v", last, err)
	}
	c := verdict.CompareAll(rec, []record.Metric{record.MetricPeakRSS}, []int{0, 1})
	if len(c) != 1 || !c[0].Significant || c[0].Ratio >= 1 {
		t.Errorf("recommended %s, but its confirmation does not back it: %+v", out.Recommended, c)
	}
}

func TestTuneBadInputIsOneLineAndExitCode2(t *testing.T) {
	for _, args := range [][]string{
		{"tune"},
		{"tune", "--allocators", "jemalloc", "--knobs", "nope"},
		{"tune", "--allocators", "system", "--minimize", "rss"},
		{"tune", "--allocators", "system", "--keep", "rps>5"},
		{"tune", "--allocators", "system", "--confirm-runs", "2"},
		{"tune", "--allocators", "system", "--cpus", "999"},
	} {
		_, stderr, code := allocscope(t, args...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want one line and exit 2", args, code, stderr)
		}
	}
}

func TestASweepOfArenasPutsOneArenaOnTheMemorySideOfTheFront(t *testing.T) {
	save := filepath.Join(t.TempDir(), "run.json")
	_, stderr, code := allocscope(t, "run", "--headless", "--allocators", "system+MALLOC_ARENA_MAX={1,4}", "--threads", "16", "--scenario", "churn",
		"-c", "50", "-d", "2", "--baseline", "0.5", "--cooldown", "0.5", "--save", save)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "2 lanes, about") {
		t.Errorf("the plan's size is not printed up front: %s", stderr)
	}
	rec, err := loadRecord(save)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := report.ParetoFront(rec)
	if !ok || len(f.Points) != 2 {
		t.Fatalf("no front of two lanes: %+v", f)
	}
	one := f.Points[0]
	if one.Name != "system+MALLOC_ARENA_MAX=1" || !one.OnFront || one.Memory.Median >= f.Points[1].Memory.Median {
		t.Errorf("want the one-arena lane first on the front with the least memory, got %+v", f.Points)
	}
}
