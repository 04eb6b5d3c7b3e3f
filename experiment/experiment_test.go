package experiment

import (
	"bytes"
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/servers"
)

// The test binary stands in for allocscope's own load workers and guards.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "__loadworker" {
		os.Exit(loadgen.ServeWorker(os.Stdin, os.Stdout))
	}
	if len(os.Args) > 2 && os.Args[1] == "__tinyserver" {
		// A server whose memory stays small whatever it is asked: a lane with room.
		http.ListenAndServe("127.0.0.1:"+os.Args[2], http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
		os.Exit(1)
	}
	if len(os.Args) > 1 && os.Args[1] == "__cgexec" {
		os.Exit(cgroup.RunExec(os.Args[2:]))
	}
	if len(os.Args) > 3 && os.Args[1] == "__fetchstats" {
		os.Exit(fetchStatsMain(os.Args[2], os.Args[3]))
	}
	if len(os.Args) > 2 && os.Args[1] == "__guard" {
		os.Exit(servers.RunGuard(os.Args[3:]))
	}
	os.Exit(m.Run())
}

func shortPlan(t *testing.T, allocators ...string) Options {
	self, _ := os.Executable()
	return Options{
		Allocators: allocators, Connections: 50, Duration: 2 * time.Second, Interval: 250 * time.Millisecond,
		Baseline: 750 * time.Millisecond, Cooldown: time.Second, Self: []string{self},
		SavePath: filepath.Join(t.TempDir(), "run.json"), Version: "test",
	}
}

func runPlan(t *testing.T, ctx context.Context, o Options, during func(*Experiment)) (*record.Record, error) {
	t.Helper()
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if during != nil {
		go during(e)
	}
	return e.Run(ctx)
}

func TestShortRunOfThreeServers(t *testing.T) {
	o := shortPlan(t, "system", "jemalloc", "mimalloc")
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != record.StateDone || len(rec.Targets) != 3 {
		t.Fatalf("state %s, %d targets", rec.State, len(rec.Targets))
	}
	for _, tg := range rec.Targets {
		run := tg.Runs[0]
		if len(run.Samples) < 10 || len(run.Load) < 2 || len(run.Heap) == 0 || len(run.Client) == 0 {
			t.Fatalf("%s: %d samples, %d load seconds, %d heap readings, %d client samples", tg.Name, len(run.Samples), len(run.Load), len(run.Heap), len(run.Client))
		}
		if run.Result == nil || run.Result.Requests == 0 || run.Result.ErrorCount() != 0 {
			t.Fatalf("%s: result %+v", tg.Name, run.Result)
		}
		before, under := run.Samples[0].RSSBytes, uint64(0)
		for _, s := range run.Samples {
			if run.Phases.PhaseAt(s.T) == record.PhaseLoad {
				under = max(under, s.RSSBytes)
			}
		}
		if under <= before {
			t.Fatalf("%s: RSS under load %d not above the idle %d", tg.Name, under, before)
		}
		if !(run.Phases.LoadStart > 0 && run.Phases.LoadEnd > run.Phases.LoadStart && run.Phases.CooldownEnd > run.Phases.LoadEnd) {
			t.Fatalf("%s: phases %+v", tg.Name, run.Phases)
		}
		if run.Exit == nil || run.Exit.Crashed() {
			t.Fatalf("%s: exit %+v, want a requested stop", tg.Name, run.Exit)
		}
	}
	saved, err := record.Load(o.SavePath)
	if err != nil {
		t.Fatal(err)
	}
	checkReports(t, saved)
}

var tableRow = regexp.MustCompile(`^\|.*\|$`)

// checkReports: Markdown tables well formed, JSON round-trips, SVG is XML with one line per target.
func checkReports(t *testing.T, rec *record.Record) {
	t.Helper()
	var md bytes.Buffer
	if err := report.Markdown(&md, rec); err != nil {
		t.Fatal(err)
	}
	cols := -1
	for _, line := range strings.Split(md.String(), "\n") {
		if !tableRow.MatchString(line) {
			cols = -1
			continue
		}
		n := strings.Count(line, "|")
		if cols >= 0 && n != cols {
			t.Fatalf("table row has %d cells, header %d: %s", n, cols, line)
		}
		cols = n
	}
	for _, tg := range rec.Targets {
		if !strings.Contains(md.String(), "### "+tg.Name+"\n") {
			t.Fatalf("Markdown has no section for %s", tg.Name)
		}
	}
	var js bytes.Buffer
	record.Encode(&js, rec)
	back, err := record.Decode(bytes.NewReader(js.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	record.Encode(&again, back)
	if !bytes.Equal(js.Bytes(), again.Bytes()) {
		t.Fatal("JSON does not round-trip")
	}
	var svg bytes.Buffer
	if err := report.SVG(&svg, rec, report.SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg.Bytes()))
	lines := map[string]int{}
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG is not valid XML: %v", err)
			}
			break
		}
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "path" {
			var d, style string
			for _, a := range el.Attr {
				switch a.Name.Local {
				case "d":
					d = a.Value
				case "style":
					style = a.Value
				}
			}
			// A data line has a point per sample; the legend's swatch has two.
			if strings.Contains(style, "stroke-width:2.5") && strings.Count(d, "L") > 2 {
				lines[style]++
			}
		}
	}
	if len(lines) != len(rec.Targets) {
		t.Fatalf("SVG has %d data lines (%v), want one per target (%d)", len(lines), lines, len(rec.Targets))
	}
}

func TestCrashedTargetIsRecordedAndTheOthersGoOn(t *testing.T) {
	o := shortPlan(t, "system", "jemalloc")
	o.Duration = 3 * time.Second
	rec, err := runPlan(t, context.Background(), o, func(e *Experiment) {
		for e.Phase() != record.PhaseLoad {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Second)
		snap := e.Snapshot()
		syscall.Kill(snap.Targets[1].Runs[0].PID, syscall.SIGKILL)
	})
	if err != nil {
		t.Fatal(err)
	}
	crashed, other := rec.Targets[1].Runs[0], rec.Targets[0].Runs[0]
	if !crashed.Exit.Crashed() || crashed.Exit.Signal != "SIGKILL" {
		t.Fatalf("killed target's exit: %+v", crashed.Exit)
	}
	if other.Exit.Crashed() || other.Result == nil || other.Result.Requests == 0 || other.Phases.CooldownEnd == 0 {
		t.Fatalf("the other target did not go on: exit %+v result %+v", other.Exit, other.Result)
	}
	var md bytes.Buffer
	report.Markdown(&md, rec)
	if !strings.Contains(md.String(), "jemalloc was killed by SIGKILL") {
		t.Fatalf("the report does not show the crash:\n%s", md.String())
	}
}

// Load workers come up one after another, so lanes' loads end at different moments;
// each lane's cooldown is the one asked, counted from its own load's end, not from the
// last lane's (50 lanes made the first one's 1 s cooldown 8 s).
func TestEachLanesCooldownLastsAsAsked(t *testing.T) {
	o := shortPlan(t, "system", "system", "system", "system")
	o.Duration, o.Connections = time.Second, 10
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	type lane struct {
		name              string
		loadEnd, coolDone time.Duration
	}
	var lanes []lane
	for _, tg := range rec.Targets {
		p := tg.Runs[0].Phases
		lanes = append(lanes, lane{tg.Name, p.LoadEnd, p.CooldownEnd})
		if p.CooldownEnd-p.LoadEnd < o.Cooldown {
			t.Errorf("%s: cooldown %s, shorter than the %s asked", tg.Name, p.CooldownEnd-p.LoadEnd, o.Cooldown)
		}
	}
	slices.SortFunc(lanes, func(a, b lane) int { return cmp.Compare(a.loadEnd, b.loadEnd) })
	first, last := lanes[0], lanes[len(lanes)-1]
	t.Logf("loads ended %s apart; cooldowns: first %s, last %s", last.loadEnd-first.loadEnd, first.coolDone-first.loadEnd, last.coolDone-last.loadEnd)
	if first.loadEnd < last.loadEnd && first.coolDone >= last.coolDone {
		t.Errorf("%s's load ended %s before %s's, but its cooldown ended with it (at %s): it idled %s instead of %s", first.name, last.loadEnd-first.loadEnd, last.name, first.coolDone, first.coolDone-first.loadEnd, o.Cooldown)
	}
}

func TestInterruptedRunIsSavedWithWhatWasMeasured(t *testing.T) {
	o := shortPlan(t, "system")
	o.Duration = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	rec, err := runPlan(t, ctx, o, func(e *Experiment) {
		// Interrupted once there is something to keep: a sample and a second of load.
		for {
			if s := e.Snapshot(); e.Phase() == record.PhaseLoad && len(s.Targets[0].Runs) > 0 &&
				len(s.Targets[0].Runs[0].Samples) > 0 && len(s.Targets[0].Runs[0].Load) > 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	})
	if err != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	saved, lerr := record.Load(o.SavePath)
	if lerr != nil {
		t.Fatal(lerr)
	}
	if saved.State != record.StateInterrupted || rec.State != record.StateInterrupted {
		t.Fatalf("state %s", saved.State)
	}
	run := saved.Targets[0].Runs[0]
	if len(run.Samples) == 0 || len(run.Load) == 0 || run.Result == nil {
		t.Fatalf("interrupted record lacks data: %d samples, %d load seconds, result %v", len(run.Samples), len(run.Load), run.Result)
	}
	if run.Result.Duration > o.Duration/2 {
		t.Fatalf("the load ran %s after the interrupt", run.Result.Duration)
	}
	if !run.Interrupted {
		t.Errorf("the run stopped 1.5 s into a 30 s load is not marked interrupted: its figures would pass for whole")
	}
	checkReports(t, saved)
}

func TestPreloadLanesReportThePreloadedAllocator(t *testing.T) {
	o := shortPlan(t, "system", "jemalloc")
	o.Preload = true
	o.Duration = time.Second
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Targets[1].Name != "jemalloc-preload" || !strings.Contains(rec.Targets[1].Preload, "libjemalloc") {
		t.Fatalf("lane %+v", rec.Targets[1])
	}
	heap := rec.Targets[1].Runs[0].Heap
	if len(heap) == 0 || !strings.HasPrefix(heap[0].Version, "5.") {
		t.Fatalf("preloaded jemalloc's /stats: %+v", heap)
	}
}

func TestCustomCommandTarget(t *testing.T) {
	bin, err := servers.NewBuilder().Build(context.Background(), servers.Allocators[0])
	if err != nil {
		t.Fatal(err)
	}
	o := shortPlan(t)
	o.Allocators = nil
	o.Duration = time.Second
	// A shell wrapper that forks the server: the probe must see the whole tree.
	o.Targets = []CustomTarget{{Name: "wrapped", Command: fmt.Sprintf("%s --port {port} & wait", bin.Path)}}
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := rec.Targets[0].Runs[0]
	if run.Result == nil || run.Result.Requests == 0 || len(run.Samples) == 0 {
		t.Fatalf("custom target: %+v", run.Result)
	}
	if run.Samples[len(run.Samples)-1].Threads < 3 {
		t.Fatalf("tree total has %d threads: the forked server is missing", run.Samples[len(run.Samples)-1].Threads)
	}
}

func TestPlanValidation(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Allocators: []string{"tcmallocc"}}, "unknown allocator"},
		{Options{Scenario: "nope"}, "unknown scenario"},
		{Options{Connections: -1}, "connections"},
		{Options{Connections: 25000, Limits: loadgen.Limits{OpenFiles: 20000, EphemeralPorts: 28232}}, "open files"},
		{Options{Connections: 30000, Limits: loadgen.Limits{OpenFiles: 1 << 20, EphemeralPorts: 28232}}, "local ports"},
		{Options{Duration: -time.Second}, "duration"},
		{Options{Targets: []CustomTarget{{Name: "x"}}}, "NAME=COMMAND"},
		{Options{Scenario: "hello", Path: "/x"}, "choose one"},
		{Options{Path: "x"}, "start with /"},
		// The plan names its own fields; the CLI turns FieldRuns into --runs.
		{Options{Runs: 1000}, "Runs 1000: use 1 to 100"},
	} {
		_, err := New(c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.o, err, c.want)
		}
	}
}

func TestLoadCommandNamesThePlan(t *testing.T) {
	o := Options{Connections: 10000, Duration: 10 * time.Second, Scenario: "hello"}.WithDefaults()
	if got, want := o.LoadCommand(), "allocscope load -c 10000 -d 10 'http://127.0.0.1:PORT/'"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	o.Engine = "epoll"
	if got, want := o.LoadCommand(), "allocscope load -c 10000 -d 10 --engine epoll 'http://127.0.0.1:PORT/'"; got != want {
		t.Fatalf("a chosen engine: got %q, want %q", got, want)
	}
}

func TestLoadCountMatchesTheServersOwnCounter(t *testing.T) {
	bin, err := servers.NewBuilder().Build(context.Background(), servers.Allocators[0])
	if err != nil {
		t.Fatal(err)
	}
	p, err := servers.Start(context.Background(), servers.ServerSpec("system", bin.Path, "", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(servers.DefaultStopGrace)
	before := serverRequests(t, p.Addr)
	g, err := loadgen.Start(context.Background(), loadgen.Config{URL: "http://" + p.Addr + "/", Connections: 40, Pipelining: 4, Amount: 20000, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for range g.Snapshots() {
	}
	res := g.Wait()
	// The second /stats request counts itself.
	if got := serverRequests(t, p.Addr) - before - 1; res.Requests != 20000 || got != 20000 {
		t.Fatalf("the generator counted %d responses, the server %d requests; want 20000 each", res.Requests, got)
	}
}

func serverRequests(t *testing.T, addr string) uint64 {
	t.Helper()
	s, err := servers.FetchStats(context.Background(), http.DefaultClient, addr)
	if err != nil {
		t.Fatal(err)
	}
	return s.Requests
}

func FuzzPlanValidation(f *testing.F) {
	f.Add("system,jemalloc", "hello", "", 10000, 1, 0.0, int64(10e9), int64(1e9), false, "x=sleep 1")
	f.Add("tcmalloc", "", "/alloc?count=1", 0, -1, -5.0, int64(-1), int64(0), true, "=")
	f.Fuzz(func(t *testing.T, allocs, scenario, path string, conns, pipe int, rate float64, dur, interval int64, seq bool, target string) {
		o := Options{Scenario: scenario, Path: path, Connections: conns, Pipelining: pipe, Rate: rate,
			Duration: time.Duration(dur), Interval: time.Duration(interval), Sequential: seq}
		if allocs != "" {
			o.Allocators = strings.Split(allocs, ",")
		}
		if name, cmd, ok := strings.Cut(target, "="); ok {
			o.Targets = []CustomTarget{{Name: name, Command: cmd}}
		}
		o = o.WithDefaults()
		if err := o.Validate(); err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("a multi-line error: %q", err)
			}
			return
		}
		// A valid plan must describe itself without panicking.
		_ = o.LoadCommand()
		_ = o.lanes()
	})
}

func TestLaneSettingsReachTheServerAndNameTheLane(t *testing.T) {
	lanes, err := servers.ParseLanes("system,arena1=system+MALLOC_ARENA_MAX=1")
	if err != nil {
		t.Fatal(err)
	}
	o := shortPlan(t, "system", "system")
	o.Lanes, o.Threads, o.Scenario = lanes, 8, "churn"
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, arena1 := rec.Targets[0], rec.Targets[1]
	if plain.Name != "system" || arena1.Name != "arena1" || arena1.Allocator != "system" {
		t.Fatalf("lanes named %q (%s) and %q (%s)", plain.Name, plain.Allocator, arena1.Name, arena1.Allocator)
	}
	if arena1.Env["MALLOC_ARENA_MAX"] != "1" || plain.Env["MALLOC_ARENA_MAX"] != "" {
		t.Fatalf("settings recorded: system %v, arena1 %v", plain.Env, arena1.Env)
	}
	// glibc gives threads that contend their own arena, each reserving 64 MiB of
	// address space; with one arena the eight threads share the main one.
	sums := record.Summarize(rec)
	if !(sums[1].PeakVSZ.Median < sums[0].PeakVSZ.Median) {
		t.Errorf("peak VSZ with MALLOC_ARENA_MAX=1 %.0f MiB, without %.0f MiB: the setting did not reach the server", sums[1].PeakVSZ.Median/(1<<20), sums[0].PeakVSZ.Median/(1<<20))
	}
	// The proof from inside: glibc itself counts one arena (malloc_info), against
	// several for the eight contending threads without the setting.
	if arena1.Settings["arenas"] != "1" || len(arena1.SettingIssues) > 0 {
		t.Errorf("arena1: /stats settings %v, issues %v; want arenas=1 and none", arena1.Settings, arena1.SettingIssues)
	}
	if n, _ := strconv.Atoi(plain.Settings["arenas"]); n < 2 {
		t.Errorf("system at 8 threads under churn ran %q arenas, want several", plain.Settings["arenas"])
	}
	t.Logf("arenas: system %s, arena1 %s; peak VSZ %.1f vs %.1f MiB", plain.Settings["arenas"], arena1.Settings["arenas"], sums[0].PeakVSZ.Median/(1<<20), sums[1].PeakVSZ.Median/(1<<20))
}

func TestAnUnknownGlibcTunableIsFlaggedAndAKnownOneIsNotChecked(t *testing.T) {
	lanes, err := servers.ParseLanes("bogus=system+GLIBC_TUNABLES=glibc.malloc.bogus=2,trim=system+GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072")
	if err != nil {
		t.Fatal(err)
	}
	o := shortPlan(t, "system", "system")
	o.Lanes, o.Duration = lanes, time.Second
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	bogus, trim := rec.Targets[0], rec.Targets[1]
	if len(bogus.SettingIssues) != 1 || !strings.Contains(bogus.SettingIssues[0], "glibc.malloc.bogus is not a tunable this glibc knows") {
		t.Errorf("bogus: issues %q, want the unknown tunable named", bogus.SettingIssues)
	}
	if len(trim.SettingIssues) != 0 || strings.Join(trim.SettingsUnchecked, ",") != "GLIBC_TUNABLES glibc.malloc.trim_threshold" {
		t.Errorf("trim: issues %q, unchecked %q; want none, and the tunable not checked", trim.SettingIssues, trim.SettingsUnchecked)
	}
	md := markdown(t, rec)
	for _, want := range []string{"| bogus | GLIBC_TUNABLES=glibc.malloc.bogus=2 | arenas=", "| **no: GLIBC_TUNABLES: glibc.malloc.bogus is not a tunable", "| not checked: GLIBC_TUNABLES glibc.malloc.trim_threshold"} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown does not say %q:\n%s", want, md)
		}
	}

	o.Strict = true
	o.SavePath = filepath.Join(t.TempDir(), "strict.json")
	if _, err := New(o); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "glibc.malloc.bogus") {
		t.Fatalf("--strict took the plan with an unknown tunable: err %v", err)
	}
}

func TestAMisspelledSettingIsFlaggedAndStrictRefusesIt(t *testing.T) {
	lanes, err := servers.ParseLanes("jemalloc+MALLOC_CONF=dirty_decay_ms:2000,bakground_thread:true")
	if err != nil {
		t.Fatal(err)
	}
	o := shortPlan(t, "jemalloc")
	o.Lanes = lanes
	o.Duration = time.Second
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	tg := rec.Targets[0]
	if tg.Settings["dirty_decay_ms"] != "2000" {
		t.Errorf("jemalloc runs with dirty_decay_ms %q, want the 2000 asked (settings %v)", tg.Settings["dirty_decay_ms"], tg.Settings)
	}
	if len(tg.SettingIssues) != 1 || !strings.Contains(tg.SettingIssues[0], "Invalid conf pair: bakground_thread:true") {
		t.Errorf("setting issues %q, want jemalloc's complaint about bakground_thread", tg.SettingIssues)
	}
	if md := markdown(t, rec); !strings.Contains(md, "**no: &lt;jemalloc&gt;: Invalid conf pair") {
		t.Errorf("the Markdown does not flag the ignored setting:\n%s", md)
	}

	o.Strict = true
	o.SavePath = filepath.Join(t.TempDir(), "strict.json")
	rec, err = runPlan(t, context.Background(), o, nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "bakground_thread") {
		t.Fatalf("--strict ran a plan with an invalid conf pair: err %v", err)
	}
	if runs := rec.Targets[0].Runs; len(runs) > 0 && runs[0].Result != nil {
		t.Errorf("--strict refused the plan only after loading it: %+v", runs[0].Result)
	}
}

func TestPurgePhaseAsksEachLaneAndMeasuresWhatStayed(t *testing.T) {
	o := shortPlan(t, "system", "jemalloc")
	o.Path, o.Connections = "/hold?bytes=1MiB&ms=200", 16
	o.Purge, o.PurgeWait = true, time.Second
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	sums := record.Summarize(rec)
	for i, tg := range rec.Targets {
		run := tg.Runs[0]
		if len(run.Purges) != 1 || run.Purges[0].Error != "" || run.Purges[0].Call == "" {
			t.Fatalf("%s: purges %+v, want one that succeeded", tg.Name, run.Purges)
		}
		if run.Phases.PurgeEnd <= run.Phases.CooldownEnd || run.Phases.PhaseAt(run.Purges[0].T) != record.PhasePurge {
			t.Errorf("%s: phases %+v, purge at %s", tg.Name, run.Phases, run.Purges[0].T)
		}
		if !sums[i].RSSAfterPurge.Known() || !sums[i].RSSAfterCooldown.Known() {
			t.Errorf("%s: RSS after purge %+v, after cooldown %+v", tg.Name, sums[i].RSSAfterPurge, sums[i].RSSAfterCooldown)
		}
		t.Logf("%s: %s: RSS after cooldown %.1f MiB, after purge %.1f MiB", tg.Name, run.Purges[0].Call, sums[i].RSSAfterCooldown.Median/(1<<20), sums[i].RSSAfterPurge.Median/(1<<20))
	}
	if !strings.Contains(rec.Targets[0].Runs[0].Purges[0].Call, "malloc_trim") || !strings.Contains(rec.Targets[1].Runs[0].Purges[0].Call, "arena.4096.purge") {
		t.Errorf("calls: %q, %q", rec.Targets[0].Runs[0].Purges[0].Call, rec.Targets[1].Runs[0].Purges[0].Call)
	}
	if md := markdown(t, rec); !strings.Contains(md, "RSS after purge") || !strings.Contains(md, "a purge gave back") {
		t.Errorf("the Markdown has no purge figures:\n%s", md)
	}
}

func TestALaneFromALibraryPathRunsWithThatLibraryServingMalloc(t *testing.T) {
	lib := servers.FindLibrary("libjemalloc.so.2")
	if lib == "" {
		t.Skip("libjemalloc.so.2 is not installed (scripts/setup.sh installs it)")
	}
	lanes, err := servers.ParseLanes("je=" + lib)
	if err != nil {
		t.Fatal(err)
	}
	o := shortPlan(t, "system")
	o.Lanes = lanes
	fetched := make(chan string, 1)
	rec, err := runPlan(t, context.Background(), o, func(e *Experiment) {
		for e.Phase() != record.PhaseLoad {
			time.Sleep(20 * time.Millisecond)
		}
		addr := e.Snapshot().Targets[0].Runs[0].Addr
		s, _ := servers.FetchStats(context.Background(), &http.Client{Timeout: 5 * time.Second}, addr)
		fetched <- s.MallocFrom
	})
	if err != nil {
		t.Fatal(err)
	}
	mallocFrom := <-fetched
	tg := rec.Targets[0]
	if tg.Name != "je" || tg.Allocator != "libjemalloc.so.2" || tg.Preload != lib || tg.Kind != record.KindPreload {
		t.Fatalf("lane: name %q allocator %q preload %q kind %s", tg.Name, tg.Allocator, tg.Preload, tg.Kind)
	}
	if !strings.Contains(mallocFrom, "libjemalloc") {
		t.Errorf("/stats says malloc comes from %q, want the preloaded %s", mallocFrom, lib)
	}
	if run := tg.Runs[0]; run.Result == nil || run.Result.Requests == 0 {
		t.Errorf("the lane served nothing: %+v", run.Result)
	}
}

func markdown(t *testing.T, rec *record.Record) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.Markdown(&b, rec); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A pause is the load's: asked before it, it would hold the load back for the whole run.
func TestPauseActsOnlyOnTheLoadAndEndsWithIt(t *testing.T) {
	o := shortPlan(t, "system")
	rec, err := runPlan(t, context.Background(), o, func(e *Experiment) {
		e.Pause() // starting or baseline: nothing to pause yet
		for e.Phase() != record.PhaseLoad {
			time.Sleep(10 * time.Millisecond)
		}
		e.Pause() // and never resumed: the load's end ends it
		for e.Phase() != record.PhaseCooldown {
			time.Sleep(10 * time.Millisecond)
		}
		e.Resume() // the cooldown has no load to resume
	})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range rec.Events {
		if ev.Kind == "pause" || ev.Kind == "resume" {
			kinds = append(kinds, string(ev.Kind)+": "+ev.Message)
			ph := rec.Targets[0].Runs[0].Phases
			if ev.T < ph.LoadStart || ev.T > ph.CooldownEnd {
				t.Errorf("%s at %v, outside the load (%v to %v)", ev.Kind, ev.T, ph.LoadStart, ph.LoadEnd)
			}
		}
	}
	if got, want := strings.Join(kinds, "; "), "pause: load paused by the user; resume: the load ended while paused"; got != want {
		t.Fatalf("got events %q, want %q", got, want)
	}
}
