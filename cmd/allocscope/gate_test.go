package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/verdict"
)

// twoLanes is a finished record of system and jemalloc over three runs, with these peak
// RSS (MiB) per run for each.
func twoLanes(system, jemalloc float64) *record.Record {
	r := &record.Record{Schema: record.SchemaVersion, State: record.StateDone, Plan: record.Plan{Runs: 3}}
	for _, lane := range []struct {
		name string
		mib  float64
	}{{"system", system}, {"jemalloc", jemalloc}} {
		tg := record.Target{Name: lane.name, Allocator: lane.name}
		for k := 0; k < 3; k++ {
			b := uint64((lane.mib + float64(k)) * (1 << 20))
			tg.Runs = append(tg.Runs, record.TargetRun{
				Phases:  record.Phases{LoadStart: time.Second, LoadEnd: 2 * time.Second, CooldownEnd: 3 * time.Second},
				Samples: []record.Sample{{T: 1500 * time.Millisecond, RSSBytes: b, VSZBytes: 4 * b}},
				Peaks:   map[record.Phase]record.PeakRSS{record.PhaseLoad: {Bytes: b, Source: record.PeakKernel}},
				Result:  &record.LoadResult{Requests: 30000, ReqPerSec: 30e3 + float64(k), P99: time.Millisecond},
			})
		}
		r.Targets = append(r.Targets, tg)
	}
	return r
}

// lossKinds each make the new record's jemalloc lane (or every lane) lose figures, as the
// issue's cases did; lanes is how many lanes lost them.
var lossKinds = []struct {
	name  string
	lose  func(r *record.Record)
	lanes int
	want  string
}{
	{"crashed", func(r *record.Record) {
		r.Targets[1].Runs[1].Exit = &record.Exit{Signal: "SIGSEGV"}
	}, 1, "jemalloc in new.json lost every figure in run 2 (it crashed: killed by SIGSEGV)"},
	{"OOM-killed", func(r *record.Record) {
		for k := range r.Targets {
			for j := range r.Targets[k].Runs {
				run := &r.Targets[k].Runs[j]
				run.Exit = &record.Exit{Signal: "SIGKILL", OOM: &record.OOMKill{LimitBytes: 8 << 20, Phase: record.PhaseLoad}}
				run.Peaks[record.PhaseLoad] = record.PeakRSS{Bytes: 6 << 20, Source: record.PeakKernel}
			}
		}
	}, 2, "system in new.json lost every figure in runs 1–3 (OOM-killed at the 8 MiB limit, 0.0 s into the load)"},
	{"load died", func(r *record.Record) {
		r.Targets[1].Runs[0].LoadError, r.Targets[1].Runs[0].Result = "the load worker was killed", nil
	}, 1, "jemalloc in new.json lost every figure in run 1 (its load died: the load worker was killed)"},
	{"unreachable", func(r *record.Record) {
		for j := range r.Targets[1].Runs {
			r.Targets[1].Runs[j].Result = &record.LoadResult{Errors: map[string]uint64{"connect": 400}}
		}
	}, 1, "jemalloc in new.json lost every figure in runs 1–3 (its load got no successful response, 400 errors)"},
	{"source lost", func(r *record.Record) {
		r.Targets[1].Runs[2].SourceError = "connection refused"
	}, 1, "jemalloc in new.json lost peak RSS, mean RSS under load, RSS after cooldown, peak VSZ in run 3 (its memory source was lost: connection refused)"},
	{"killed -9", func(r *record.Record) { r.State = record.StateRunning },
		2, "jemalloc in new.json lost every figure in run 3 (the record is incomplete, state running: the run did not finish)"},
	{"interrupted", func(r *record.Record) { r.State = record.StateInterrupted },
		2, "system in new.json lost every figure in run 3 (the record is incomplete, state interrupted: the run did not finish)"},
	{"no samples", func(r *record.Record) {
		for j := range r.Targets[1].Runs {
			r.Targets[1].Runs[j] = record.TargetRun{}
		}
	}, 1, "jemalloc in new.json lost peak RSS, mean RSS under load, peak VSZ, throughput, p99 latency (no run measured it; base.json has it)"},
}

func TestGateFailsOnEveryLaneThatLostFigures(t *testing.T) {
	gate, err := verdict.ParseGate("peak_rss>+10%")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range lossKinds {
		newer := twoLanes(100, 80)
		k.lose(newer)
		c, err := report.CompareRecords(report.Named{Name: "base.json", Rec: twoLanes(100, 80)}, []report.Named{{Name: "new.json", Rec: newer}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = checkGate(&out, gate, gateFlags{}, c)
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if err == nil || len(lines) != k.lanes || !strings.Contains(out.String(), k.want) {
			t.Errorf("%s: gate %v, %d lines, want it to fail with %d, one per lane, saying %q:\n%s", k.name, err, len(lines), k.lanes, k.want, out.String())
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, "allocscope: FAIL ") || !strings.Contains(l, "--allow-missing") {
				t.Errorf("%s: line %q", k.name, l)
			}
		}
		allow := true
		out.Reset()
		if err := checkGate(&out, gate, gateFlags{allow: map[string]*bool{"--allow-missing": &allow}}, c); err != nil {
			t.Errorf("%s with --allow-missing: %v\n%s", k.name, err, out.String())
		}
	}
}

func TestCompareGateFailsOnAnOOMKilledLaneThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	base, dead := filepath.Join(dir, "base.json"), filepath.Join(dir, "dead.json")
	newer := twoLanes(100, 80)
	lossKinds[1].lose(newer)
	if err := record.Save(base, twoLanes(100, 80)); err != nil {
		t.Fatal(err)
	}
	if err := record.Save(dead, newer); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := allocscope(t, "compare", base, dead, "--fail-if", "peak_rss>+10%")
	fails := strings.Count(stderr, "allocscope: FAIL ")
	if code != 1 || fails != 2 || !strings.Contains(stderr, "jemalloc in "+dead+" lost every figure in runs 1–3 (OOM-killed at the 8 MiB limit") {
		t.Fatalf("both lanes OOM-killed: exit %d, %d FAIL lines; want exit 1 and 2:\n%s", code, fails, stderr)
	}
	if !strings.Contains(out, "Lost figures") || strings.Contains(out, "0.79×") {
		t.Fatalf("compare's text should name the lost figures and compare none of them:\n%s", out)
	}
	if _, stderr, code := allocscope(t, "compare", base, dead, "--fail-if", "peak_rss>+10%", "--allow-missing"); code != 0 {
		t.Fatalf("--allow-missing: exit %d: %s", code, stderr)
	}
	if _, stderr, code := allocscope(t, "compare", base, dead, "--fail-if", "peak_rss<-150%"); code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("peak_rss<-150%%: exit %d: %q; want one line and exit 2", code, stderr)
	}
}

// cycledLane is a finished record of one lane, system, over three runs of three cycles of
// 10 s load and 10 s idle: it rests at 100 MiB, the load adds 40, and the idle ends at
// afterIdle MiB (run k a tenth of a MiB per run higher).
func cycledLane(afterIdle float64) *record.Record {
	r := &record.Record{Schema: record.SchemaVersion, State: record.StateDone, Plan: record.Plan{Runs: 3, Cycles: 3}}
	tg := record.Target{Name: "system", Allocator: "system"}
	mib := func(v float64) uint64 { return uint64(v * (1 << 20)) }
	for k := 0; k < 3; k++ {
		run := record.TargetRun{Result: &record.LoadResult{Requests: 30000, ReqPerSec: 30e3, P99: time.Millisecond}}
		run.Samples = append(run.Samples, record.Sample{T: 0, RSSBytes: mib(100)})
		for c := 0; c < 3; c++ {
			start := time.Duration(1+20*c) * time.Second
			cy := record.Cycle{Index: c + 1, LoadStart: start, LoadEnd: start + 10*time.Second, IdleEnd: start + 20*time.Second}
			run.Cycles = append(run.Cycles, cy)
			run.Samples = append(run.Samples,
				record.Sample{T: start + 5*time.Second, RSSBytes: mib(140)},
				record.Sample{T: cy.IdleEnd, RSSBytes: mib(afterIdle + 0.1*float64(k))})
		}
		run.Phases = record.Phases{LoadStart: time.Second, LoadEnd: run.Cycles[2].LoadEnd, CooldownEnd: run.Cycles[2].IdleEnd}
		tg.Runs = append(tg.Runs, run)
	}
	r.Targets = append(r.Targets, tg)
	return r
}

func TestGateOnRSSAfterIdle(t *testing.T) {
	gate, err := verdict.ParseGate("rss_after_idle>10%")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		afterIdle float64
		fail      bool
	}{{"kept 30 MiB more", 130, true}, {"the same", 100, false}} {
		c, err := report.CompareRecords(report.Named{Name: "base.json", Rec: cycledLane(100)}, []report.Named{{Name: "new.json", Rec: cycledLane(tc.afterIdle)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = checkGate(&out, gate, gateFlags{}, c)
		if tc.fail != (err != nil) || tc.fail && !strings.Contains(out.String(), "allocscope: FAIL rss_after_idle>10%: system's RSS after idle is 1.30× base.json's in new.json") {
			t.Errorf("%s: gate %v, want failing %v:\n%s", tc.name, err, tc.fail, out.String())
		}
	}
	// A record without cycles has no RSS after idle: nothing is compared, and a gate on
	// it fails rather than pass a figure nobody measured.
	c, err := report.CompareRecords(report.Named{Name: "base.json", Rec: twoLanes(100, 80)}, []report.Named{{Name: "new.json", Rec: twoLanes(100, 80)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Figures {
		if r.Metric.Key == record.MetricRSSAfterIdle.Key {
			t.Errorf("a record without cycles compared on %s", r.Metric.Key)
		}
	}
	var out bytes.Buffer
	err = checkGate(&out, gate, gateFlags{}, c)
	if err == nil || !strings.Contains(out.String(), "allocscope: FAIL rss_after_idle>10%: no compared lane has a figure for RSS after idle: it is one of cycled runs (run --cycles N)") {
		t.Errorf("a gate on RSS after idle over records without cycles: %v\n%s", err, out.String())
	}
}
