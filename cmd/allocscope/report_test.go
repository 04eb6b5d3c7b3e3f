package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

// killedBeforeAnySample is a record as a kill -9 of allocscope leaves it when the
// servers had started but no sample was taken: state running, runs without samples.
func killedBeforeAnySample(t *testing.T, state string) string {
	t.Helper()
	r := &record.Record{Schema: record.SchemaVersion, State: state, Started: time.Unix(1700000000, 0),
		Plan: record.Plan{Allocators: []string{"system", "jemalloc"}, Scenario: "hello", Path: "/", Connections: 10, Runs: 1,
			Duration: 10 * time.Second, Interval: time.Second, LoadCommand: "allocscope run"}}
	r.Targets = []record.Target{
		{Name: "system", Allocator: "system", Kind: record.KindBuiltin, Runs: []record.TargetRun{{PID: 42, Addr: "127.0.0.1:1"}}},
		{Name: "jemalloc", Allocator: "jemalloc", Kind: record.KindBuiltin},
	}
	path := filepath.Join(t.TempDir(), "killed.json")
	if err := record.Save(path, r); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReportOfARunStoppedBeforeAnySampleSaysSoInEveryFormat(t *testing.T) {
	for _, state := range []string{record.StateRunning, record.StateInterrupted} {
		path := killedBeforeAnySample(t, state)
		for _, f := range []string{"md", "json", "csv", "svg", "png"} {
			out, stderr, code := allocscope(t, "report", path, "--format", f)
			if code != 0 {
				t.Fatalf("%s, --format %s: exit %d: %s", state, f, code, stderr)
			}
			if f == "md" && (!strings.Contains(out, "stopped") || !strings.Contains(out, "no sample")) {
				t.Fatalf("%s: the report does not say the run stopped with no samples:\n%s", state, out)
			}
		}
		p := filepath.Join(t.TempDir(), "chart.png")
		if _, stderr, code := allocscope(t, "report", path, "-o", p); code != 0 {
			t.Fatalf("%s, -o x.png: exit %d: %s", state, code, stderr)
		}
	}
	// A chart of RSS asked for by name has nothing to draw: that is the user's to hear.
	if _, stderr, code := allocscope(t, "report", killedBeforeAnySample(t, record.StateRunning), "--format", "svg", "--metric", "rss"); code != 2 || !strings.Contains(stderr, "no lane has rss figures") {
		t.Fatalf("an explicit --metric with no figures: exit %d, %s", code, stderr)
	}
}

func TestReportRefusesAnOutputItCannotWrite(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"x.jpg", "x", "x.txt"} {
		p := filepath.Join(dir, name)
		_, stderr, code := allocscope(t, "report", "../../report/testdata/run.json", "-o", p)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(stderr, name) || !strings.Contains(stderr, ".md, .json, .csv, .svg or .png") {
			t.Errorf("-o %s: exit %d, stderr %q; want exit 2 and one line naming the file and the extensions", name, code, stderr)
		}
		if _, err := os.Stat(p); err == nil {
			t.Errorf("-o %s was written", name)
		}
	}
	// --format says what to write, whatever the name.
	p := filepath.Join(dir, "report.txt")
	if _, stderr, code := allocscope(t, "report", "../../report/testdata/run.json", "-o", p, "--format", "md"); code != 0 {
		t.Fatalf("-o report.txt --format md: exit %d: %s", code, stderr)
	}
}

// --chart pareto is a picture: asked for Markdown, or for no format at all on stdout, it
// says so instead of printing the Markdown report as if the flag were not there.
func TestParetoChartWithoutAPictureFormatIsRefused(t *testing.T) {
	const want = "--chart pareto draws a chart: add --format svg or png, or -o FILE.svg"
	for _, args := range [][]string{{}, {"--format", "md"}, {"-o", filepath.Join(t.TempDir(), "t.md")}} {
		stdout, stderr, code := allocscope(t, append([]string{"report", "../../report/testdata/run.json", "--chart", "pareto"}, args...)...)
		if code != 2 || !strings.Contains(stderr, want) || stdout != "" {
			t.Errorf("report --chart pareto %v: exit %d, stdout %.80q, stderr %q; want exit 2 and %q", args, code, stdout, stderr, want)
		}
	}
	if _, stderr, code := allocscope(t, "report", "../../report/testdata/run.json", "--chart", "pareto", "-o", filepath.Join(t.TempDir(), "t.svg")); code != 0 {
		t.Errorf("report --chart pareto -o t.svg: exit %d, %s", code, stderr)
	}
}

// report compares a run's lanes, not runs, and writes PNG too: its help says so.
func TestReportHelpSaysWhatReportDoes(t *testing.T) {
	stdout, stderr, _ := allocscope(t, "report", "-h")
	help := stdout + stderr
	if strings.Contains(help, "compare runs even when") || !strings.Contains(help, "compare the lanes and draw conclusions even when") {
		t.Errorf("report -h's --allow-busy:\n%s", help)
	}
	stdout, stderr, _ = allocscope(t, "-h")
	if help := stdout + stderr; !strings.Contains(help, "a saved run as Markdown, JSON, CSV, SVG or PNG") {
		t.Errorf("allocscope -h on report:\n%s", help)
	}
}

// The headless progress line shows no rate rather than 0 req/s for a lane whose load has
// no second in yet: none since this cycle's load began, or only its start with no answer.
func TestProgressShowsNoRateBeforeTheLoadsFirstSecond(t *testing.T) {
	r := &record.Record{Started: time.Now(), Targets: []record.Target{
		{Name: "system", Runs: []record.TargetRun{{Phases: record.Phases{LoadStart: time.Second}, Load: []record.LoadTick{{T: 1200 * time.Millisecond}}}}},
		{Name: "jemalloc", Runs: []record.TargetRun{{Phases: record.Phases{LoadStart: time.Second}, Load: []record.LoadTick{{T: 1200 * time.Millisecond}, {T: 2200 * time.Millisecond, Requests: 19300}}}}},
		{Name: "mimalloc", Runs: []record.TargetRun{{Cycles: []record.Cycle{{Index: 1, LoadStart: time.Second, LoadEnd: 3 * time.Second}, {Index: 2, LoadStart: 5 * time.Second}},
			Load: []record.LoadTick{{T: 2 * time.Second, Requests: 18000}, {T: 3 * time.Second, Requests: 0}}}}},
	}}
	line := progressLine(r, record.PhaseLoad)
	for _, want := range []string{"system — req/s", "jemalloc 19", "mimalloc — req/s"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
}
