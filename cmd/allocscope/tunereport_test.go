package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/tune"
)

// writeTuneDir is a tune --out directory: a search of jemalloc (a trial record beside
// it, by its base name) and one of glibc that kept the defaults.
func writeTuneDir(t *testing.T) (dir, trialRecord string) {
	t.Helper()
	dir = t.TempDir()
	trialRecord = filepath.Join(dir, "jemalloc-trial-01.json")
	data, err := os.ReadFile("../../report/testdata/run.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := record.WriteFileAtomic(trialRecord, data); err != nil {
		t.Fatal(err)
	}
	decay := tune.Result{Candidate: "MALLOC_CONF=dirty_decay_ms:0", Objective: 0.71, RPS: 0.98, P99: 1.04, Helped: true, Kept: true, OnFront: true}
	outs := []tune.Outcome{{
		Command: "allocscope tune --allocators jemalloc,system", Allocator: "jemalloc", Objective: "peak_rss", Keep: []string{"rps>=-5%", "p99<=+10%"}, Budget: "15m0s",
		Trials: []tune.Trial{
			// As tune saved it, relative to where it ran: found beside tune.json.
			{Stage: "screen", Knob: "dirty_decay_ms", Runs: 1, Results: []tune.Result{decay, {Candidate: "MALLOC_CONF=dirty_decay_ms:1000", Objective: 0.93, RPS: 1, P99: 1}}, Record: "elsewhere/jemalloc-trial-01.json"},
			{Stage: "combine", Runs: 1, Results: []tune.Result{{Candidate: "MALLOC_CONF=dirty_decay_ms:0,narenas:2", Objective: 0.8, RPS: 0.9, P99: 1.2}}, Record: "jemalloc-trial-02.json"},
			{Stage: "confirm", Runs: 5, Results: []tune.Result{decay}, Record: "jemalloc-trial-03.json"},
		},
		Recommended: "MALLOC_CONF=dirty_decay_ms:0", Ratio: 0.71, Low: 0.66, High: 0.77,
		Why:   "peak RSS fell to the defaults' (0.71×, 99% interval 0.66–0.77 over 5 paired runs), keeping rps>=-5%, p99<=+10%",
		Front: []tune.Result{decay},
	}, {
		Allocator: "system", Objective: "peak_rss", Budget: "15m0s",
		Trials: []tune.Trial{{Stage: "screen", Knob: "MALLOC_ARENA_MAX", Runs: 1, Results: []tune.Result{{Candidate: "MALLOC_ARENA_MAX=1", Objective: 1.01, RPS: 1, P99: 1}}}},
		Why:    "no setting lowered peak RSS by 5% or more while keeping rps>=-5%, p99<=+10%, in 1 trial(s): keep the defaults",
	}}
	data, err = json.MarshalIndent(outs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := record.WriteFileAtomic(filepath.Join(dir, "tune.json"), data); err != nil {
		t.Fatal(err)
	}
	return dir, trialRecord
}

func TestReportOfATuneSearchShowsTrialsFrontAndOutcome(t *testing.T) {
	dir, trial := writeTuneDir(t)
	tuneJSON := filepath.Join(dir, "tune.json")
	md := []string{
		"allocscope tune --allocators jemalloc,system",
		"Minimize peak_rss, keeping rps>=-5%, p99<=+10%, within a budget of 15m0s",
		"| 1 | screen of dirty_decay_ms | defaults, `MALLOC_CONF=dirty_decay_ms:0`, `MALLOC_CONF=dirty_decay_ms:1000` | 1 | " + trial + " |",
		"| 2 | combine | defaults, `MALLOC_CONF=dirty_decay_ms:0,narenas:2` | 1 | jemalloc-trial-02.json |",
		"| 3 | confirm | defaults, `MALLOC_CONF=dirty_decay_ms:0` | 5 |",
		"| `MALLOC_CONF=dirty_decay_ms:0` | 0.71× | 0.98× | 1.04× |",
		"**Recommended:** `MALLOC_CONF=dirty_decay_ms:0`: peak_rss 0.71× the defaults' (interval 0.66–0.77)",
		"# Tuning system",
		"**Keep the defaults.** no setting lowered peak RSS by 5% or more",
		"| 1 | screen of MALLOC_ARENA_MAX | defaults, `MALLOC_ARENA_MAX=1` | 1 | none kept |",
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"the file, Markdown by default", []string{tuneJSON}, md},
		{"its directory", []string{dir, "--format", "md"}, md},
		{"as JSON, the file as is", []string{tuneJSON, "--format", "json"}, []string{`"recommended": "MALLOC_CONF=dirty_decay_ms:0"`, `"stage": "combine"`, `"front": [`}},
	} {
		out, stderr, code := allocscope(t, append([]string{"report"}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: the report lacks %q:\n%s", tc.name, w, out)
			}
		}
	}
	// A trial's record, as the search lists it, is a run report/replay shows.
	if _, stderr, code := allocscope(t, "report", trial); code != 0 {
		t.Errorf("report of trial 1's record %s: exit %d: %s", trial, code, stderr)
	}
	// Told apart by its content, not its name.
	renamed := filepath.Join(t.TempDir(), "search.json")
	data, _ := os.ReadFile(tuneJSON)
	os.WriteFile(renamed, data, 0o644)
	if out, stderr, code := allocscope(t, "report", renamed); code != 0 || !strings.Contains(out, "# Tuning jemalloc") {
		t.Errorf("report of a renamed tune.json: exit %d, %s\n%s", code, stderr, out)
	}
}

func TestReportOfATuneSearchRefusesAFormatItHasNot(t *testing.T) {
	dir, _ := writeTuneDir(t)
	for _, f := range []string{"csv", "svg", "png"} {
		out, stderr, code := allocscope(t, "report", filepath.Join(dir, "tune.json"), "--format", f)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(stderr, "md or json") || out != "" {
			t.Errorf("--format %s: exit %d, stdout %.60q, stderr %q; want exit 2 and one line naming md or json", f, code, out, stderr)
		}
	}
}
