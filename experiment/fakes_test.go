package experiment

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// fakeParts stand in for the servers, the load workers and /proc: the orchestrator's
// phases run against them in milliseconds, with no server built.
type fakeParts struct {
	mu      sync.Mutex
	nextPID int
	procs   map[int]*fakeProc
	loads   []*fakeLoad
	// configs are the loads' configurations, as they started.
	configs []loadgen.Config
	// onLoad, when set, runs as each load starts.
	onLoad func(f *fakeParts)
	// cgroups, when set, makes the lanes' cgroups (fakeCgroups).
	cgroups *fakeCgroups
}

func newFakeParts() *fakeParts { return &fakeParts{nextPID: 1000, procs: map[int]*fakeProc{}} }

func (f *fakeParts) parts() parts {
	p := parts{starter: f, builder: fakeBuilder{}, loads: f, heap: fakeHeap{}, proc: f}
	p.cgroups = func() (cgroupMaker, error) {
		if f.cgroups == nil {
			return nil, errors.New("no fake cgroups")
		}
		return f.cgroups, nil
	}
	return p
}

type fakeProc struct {
	pid  int
	done chan struct{}
	once sync.Once
	exit servers.ExitStatus
	// cgroup is the directory of the cgroup it started in, if any.
	cgroup string
}

func (p *fakeProc) PID() int                 { return p.pid }
func (p *fakeProc) Addr() string             { return "127.0.0.1:1" }
func (p *fakeProc) Done() <-chan struct{}    { return p.done }
func (p *fakeProc) Exit() servers.ExitStatus { <-p.done; return p.exit }
func (p *fakeProc) Output() []string         { return []string{"listening"} }
func (p *fakeProc) end(e servers.ExitStatus) {
	p.once.Do(func() { p.exit = e; close(p.done) })
}
func (p *fakeProc) Stop(time.Duration) servers.ExitStatus {
	p.end(servers.ExitStatus{Code: 0, Requested: true})
	return p.Exit()
}

func (f *fakeParts) Start(ctx context.Context, spec servers.Spec) (process, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextPID++
	p := &fakeProc{pid: f.nextPID, done: make(chan struct{})}
	if k := slices.Index(spec.Enter, cgroup.ExecCommand); k >= 0 && k+1 < len(spec.Enter) {
		p.cgroup = spec.Enter[k+1]
	}
	f.procs[p.pid] = p
	return p, nil
}

// crash kills the first lane's process as the kernel would.
func (f *fakeParts) crash(pid int) {
	f.mu.Lock()
	p := f.procs[pid]
	f.mu.Unlock()
	p.end(servers.ExitStatus{Code: -1, Signal: "SIGKILL"})
}

type fakeBuilder struct{}

func (fakeBuilder) CachedPath(servers.Allocator) string { return "/fake" }
func (fakeBuilder) Build(_ context.Context, a servers.Allocator) (servers.Binary, error) {
	return servers.Binary{Allocator: a.Name, Path: "/fake/" + a.Name, SizeBytes: 1}, nil
}

type fakeLoad struct {
	pid     int
	mu      sync.Mutex
	pending []loadgen.Snapshot
	done    chan struct{}
}

func (l *fakeLoad) PID() int { return l.pid }
func (l *fakeLoad) Poll() []loadgen.Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.pending
	l.pending = nil
	return out
}
func (l *fakeLoad) Done() <-chan struct{} { return l.done }
func (l *fakeLoad) Wait() loadgen.Result {
	<-l.done
	return loadgen.Result{Requests: 300, Duration: time.Second}
}
func (l *fakeLoad) Err() error { return nil }
func (l *fakeLoad) Pause()     {}
func (l *fakeLoad) Resume()    {}

// StartLoad sends one snapshot of 100 requests per 10 ms for the plan's duration.
func (f *fakeParts) StartLoad(ctx context.Context, cfg loadgen.Config) (loadRun, error) {
	f.mu.Lock()
	f.nextPID++
	l := &fakeLoad{pid: f.nextPID, done: make(chan struct{})}
	f.loads = append(f.loads, l)
	f.configs = append(f.configs, cfg)
	onLoad := f.onLoad
	f.mu.Unlock()
	go func() {
		defer close(l.done)
		end := time.Now().Add(cfg.Duration)
		for time.Now().Before(end) && ctx.Err() == nil {
			l.mu.Lock()
			l.pending = append(l.pending, loadgen.Snapshot{Time: time.Now(), Requests: 100})
			l.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if onLoad != nil {
		onLoad(f)
	}
	return l, nil
}

type fakeHeap struct{}

func (fakeHeap) Stats(context.Context, string) (servers.Stats, error) {
	n := uint64(1 << 20)
	return servers.Stats{AllocatedBytes: &n}, nil
}
func (h fakeHeap) Poll(ctx context.Context, addrs []string, meanwhile func()) []*servers.Stats {
	meanwhile()
	out := make([]*servers.Stats, len(addrs))
	for i, a := range addrs {
		if s, err := h.Stats(ctx, a); err == nil {
			out[i] = &s
		}
	}
	return out
}
func (fakeHeap) Purge(context.Context, string) (string, error) { return "fake_purge()", nil }

// fakeSampling reads 10 MiB for every live process, and its exit once.
type fakeSampling struct {
	f       *fakeParts
	targets []probe.Target
	gone    map[int]bool
}

func (f *fakeParts) Open(targets []probe.Target, smaps bool) (sampling, error) {
	return &fakeSampling{f: f, targets: targets, gone: map[int]bool{}}, nil
}

func (s *fakeSampling) Next(now time.Time) (probe.Sample, int) {
	out := probe.Sample{Time: now}
	live := 0
	for _, t := range s.targets {
		if s.gone[t.PID] {
			continue
		}
		s.f.mu.Lock()
		p := s.f.procs[t.PID]
		s.f.mu.Unlock()
		if p != nil && !alive(p) {
			s.gone[t.PID] = true
			out.Targets = append(out.Targets, probe.TargetSample{Name: t.Name, PID: t.PID, Exited: true})
			continue
		}
		live++
		out.Targets = append(out.Targets, probe.TargetSample{Name: t.Name, PID: t.PID, Total: probe.Process{RSSBytes: 10 << 20}})
	}
	return out, live
}

func (f *fakeParts) ResetTreePeakRSS(int, bool) error { return nil }
func (f *fakeParts) TreePeakRSS(int, bool) (probe.TreePeak, error) {
	return probe.TreePeak{Bytes: 12 << 20, Members: 1}, nil
}
func (f *fakeParts) ReadProcess(int) (probe.Process, error) {
	return probe.Process{RSSBytes: 10 << 20}, nil
}
func (f *fakeParts) CPUMeter(int) cpuMeter { return fakeCPU{} }

type fakeCPU struct{}

func (fakeCPU) Read(map[int]int, int) (probe.CPUSplit, bool, error) {
	return probe.CPUSplit{Groups: make([]float64, 3)}, true, nil
}

// fakePlan is a plan of two built-in lanes whose phases last tens of milliseconds.
func fakePlan(t *testing.T) Options {
	return Options{
		Allocators: []string{"system", "jemalloc"}, Connections: 1, Duration: 60 * time.Millisecond,
		Baseline: 30 * time.Millisecond, Cooldown: 30 * time.Millisecond, Interval: 10 * time.Millisecond,
		SavePath: t.TempDir() + "/run.json", Self: []string{"allocscope"},
	}.WithDefaults()
}

func runFake(t *testing.T, ctx context.Context, o Options, f *fakeParts) (*record.Record, error) {
	t.Helper()
	e, err := newExperiment(o, f.parts())
	if err != nil {
		t.Fatal(err)
	}
	return e.Run(ctx)
}

func TestFakePhasesRunInOrderAndEveryLaneIsMeasured(t *testing.T) {
	o := fakePlan(t)
	rec, err := runFake(t, context.Background(), o, newFakeParts())
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != record.StateDone {
		t.Fatalf("state %s, want done", rec.State)
	}
	for _, tg := range rec.Targets {
		r := tg.Runs[0]
		p := r.Phases
		if !(p.Start < p.LoadStart && p.LoadStart < p.LoadEnd && p.LoadEnd < p.CooldownEnd) {
			t.Fatalf("%s: phases out of order: %+v", tg.Name, p)
		}
		if len(r.Samples) < 2 || len(r.Heap) == 0 || len(r.Load) == 0 || r.Result == nil || r.Result.Requests != 300 {
			t.Fatalf("%s: %d samples, %d heap, %d load ticks, result %+v", tg.Name, len(r.Samples), len(r.Heap), len(r.Load), r.Result)
		}
		for _, ph := range []record.Phase{record.PhaseBaseline, record.PhaseLoad, record.PhaseCooldown} {
			if pk := r.Peaks[ph]; pk.Source != record.PeakKernel || pk.Bytes != 12<<20 {
				t.Fatalf("%s: %s peak %+v", tg.Name, ph, pk)
			}
		}
		if r.Exit == nil || !r.Exit.Requested {
			t.Fatalf("%s: exit %+v, want one asked for", tg.Name, r.Exit)
		}
	}
	saved, err := record.Load(o.SavePath)
	if err != nil || saved.State != record.StateDone {
		t.Fatalf("saved record: %v, %+v", err, saved)
	}
}

func TestFakeSequentialLanesTakeTurns(t *testing.T) {
	o := fakePlan(t)
	o.Sequential = true
	rec, err := runFake(t, context.Background(), o, newFakeParts())
	if err != nil {
		t.Fatal(err)
	}
	a, b := rec.Targets[0].Runs[0].Phases, rec.Targets[1].Runs[0].Phases
	if !(a.CooldownEnd <= b.LoadStart) {
		t.Fatalf("lane 2's load began before lane 1's cooldown ended: %+v %+v", a, b)
	}
}

func TestFakeCrashMidLoadIsRecordedAndTheOtherGoesOn(t *testing.T) {
	f := newFakeParts()
	var once sync.Once
	f.onLoad = func(f *fakeParts) { once.Do(func() { f.crash(1001) }) }
	rec, err := runFake(t, context.Background(), fakePlan(t), f)
	if err != nil {
		t.Fatal(err)
	}
	crashed, other := rec.Targets[0].Runs[0], rec.Targets[1].Runs[0]
	if crashed.PID != 1001 || !crashed.Exit.Crashed() || crashed.Exit.Signal != "SIGKILL" {
		t.Fatalf("crashed lane's exit: %+v", crashed.Exit)
	}
	if other.Exit.Crashed() || other.Result == nil || other.Phases.CooldownEnd == 0 {
		t.Fatalf("the other lane did not go on: %+v", other)
	}
	found := false
	for _, ev := range rec.Events {
		found = found || (ev.Kind == record.EventCrash && ev.Target == rec.Targets[0].Name)
	}
	if !found {
		t.Fatalf("no crash event: %+v", rec.Events)
	}
}

func TestFakeInterruptionAtEachPhaseIsSavedSo(t *testing.T) {
	for _, at := range []record.Phase{record.PhaseBaseline, record.PhaseLoad, record.PhaseCooldown} {
		t.Run(string(at), func(t *testing.T) {
			o := fakePlan(t)
			e, err := newExperiment(o, newFakeParts().parts())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				for e.Phase() != at {
					<-e.Changed()
				}
				cancel()
			}()
			rec, err := e.Run(ctx)
			if !errors.Is(err, context.Canceled) || rec.State != record.StateInterrupted {
				t.Fatalf("err %v, state %s", err, rec.State)
			}
			for _, tg := range rec.Targets {
				if r := tg.Runs[0]; !r.Interrupted || r.Exit == nil {
					t.Fatalf("%s: run %+v not marked interrupted or not stopped", tg.Name, r)
				}
			}
			saved, err := record.Load(o.SavePath)
			if err != nil || saved.State != record.StateInterrupted {
				t.Fatalf("saved: %v %+v", err, saved)
			}
		})
	}
}

func TestFakeSweepRunsEachStep(t *testing.T) {
	o := fakePlan(t)
	o.Sweep = &record.Sweep{Parameter: record.SweepConnections, Values: []string{"1", "2"}}
	o.Runs = 2
	rec, err := runFake(t, context.Background(), o, newFakeParts())
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range rec.Targets {
		if len(tg.Runs) != 4 || tg.Runs[0].Step != 0 || tg.Runs[3].Step != 1 {
			t.Fatalf("%s: %d runs, steps %d..%d", tg.Name, len(tg.Runs), tg.Runs[0].Step, tg.Runs[len(tg.Runs)-1].Step)
		}
	}
}

func TestSnapshotSharesSeriesAndKeepsItsOwnLength(t *testing.T) {
	r := newRecorder(&record.Record{Targets: []record.Target{{Runs: []record.TargetRun{{}}}}})
	r.AppendSample(0, 0, record.Sample{RSSBytes: 1})
	snap := r.Snapshot()
	for k := 0; k < 100; k++ {
		r.AppendSample(0, 0, record.Sample{RSSBytes: 2})
	}
	r.SetPeak(0, 0, record.PhaseLoad, record.PeakRSS{Bytes: 9})
	if got := snap.Targets[0].Runs[0].Samples; len(got) != 1 || got[0].RSSBytes != 1 || snap.Targets[0].Runs[0].Peaks != nil {
		t.Fatalf("a snapshot changed after it was taken: %+v", snap.Targets[0].Runs[0])
	}
}
