package experiment

import (
	"context"
	"encoding/json"

	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// AutosaveInterval is how often a running experiment saves its record, so that even a
// kill -9 of allocscope leaves most of the run on disk.
const AutosaveInterval = 3 * time.Second

// Experiment is one run of the plan, observable while it goes.
type Experiment struct {
	opts  Options
	lanes []lane
	// Log receives one line per build step and phase change; nil discards them.
	Log io.Writer

	mu      sync.Mutex
	rec     *record.Record
	phase   string
	changed chan struct{}
	paused  atomic.Bool
	loads   []*loadgen.Remote
	saveErr error
	// meters measure each lane's per-phase peak in the current run.
	meters []*peakMeter
}

// New validates the options and prepares an experiment.
func New(opts Options) (*Experiment, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	e := &Experiment{opts: opts, lanes: opts.lanes(), changed: make(chan struct{}, 1), phase: record.PhaseStarting}
	e.rec = &record.Record{
		Schema:  record.SchemaVersion,
		Tool:    record.Tool{Version: opts.Version, GoVersion: runtime.Version(), Versions: toolVersions()},
		Machine: DescribeMachine(),
		Plan: record.Plan{
			Allocators: opts.Allocators, Scenario: opts.Scenario, Path: opts.RequestPath(), Connections: opts.Connections,
			Pipelining: opts.Pipelining, Rate: opts.Rate, Duration: opts.Duration, Baseline: opts.Baseline, Cooldown: opts.Cooldown,
			Interval: opts.Interval, Sequential: opts.Sequential, Runs: opts.Runs, LoadCommand: opts.LoadCommand(),
		},
		State: record.StateRunning,
	}
	for _, l := range e.lanes {
		t := record.Target{Name: l.name, Allocator: l.allocator, Kind: l.kind}
		if l.command != "" {
			t.Command = []string{"sh", "-c", l.command}
		}
		e.rec.Targets = append(e.rec.Targets, t)
	}
	return e, nil
}

// Options returns the plan with defaults filled in.
func (e *Experiment) Options() Options { return e.opts }

// Changed receives a value whenever the record changed (coalesced: at most one waits).
func (e *Experiment) Changed() <-chan struct{} { return e.changed }

// Snapshot is a deep copy of the record now, safe to keep and read.
func (e *Experiment) Snapshot() *record.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rec.Clone()
}

// Phase is the current phase name.
func (e *Experiment) Phase() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.phase
}

// Pause stops the load's traffic (the clock runs on); Resume restarts it.
func (e *Experiment) Pause() { e.setPaused(true) }

// Resume undoes Pause.
func (e *Experiment) Resume() { e.setPaused(false) }

// Paused says whether the load is paused.
func (e *Experiment) Paused() bool { return e.paused.Load() }

func (e *Experiment) setPaused(p bool) {
	e.paused.Store(p)
	e.mu.Lock()
	loads := append([]*loadgen.Remote(nil), e.loads...)
	e.mu.Unlock()
	for _, l := range loads {
		if p {
			l.Pause()
		} else {
			l.Resume()
		}
	}
	kind := "resume"
	if p {
		kind = "pause"
	}
	e.event("", kind, "load "+kind+"d by the user")
}

func (e *Experiment) notify() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// since is the offset from the record's start; call with e.mu held or before the run.
func (e *Experiment) since(t time.Time) time.Duration { return t.Sub(e.rec.Started) }

func (e *Experiment) event(target, kind, msg string) {
	e.mu.Lock()
	e.rec.Events = append(e.rec.Events, record.Event{T: e.since(time.Now()), Target: target, Kind: kind, Message: msg})
	e.mu.Unlock()
	e.logf("%s", msg)
	e.notify()
}

func (e *Experiment) logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format+"\n", args...)
	}
}

func (e *Experiment) setPhase(p string) {
	e.mu.Lock()
	e.phase = p
	e.mu.Unlock()
	e.notify()
}

// Save writes the record now to the plan's SavePath.
func (e *Experiment) Save() error {
	if e.opts.SavePath == "" {
		return nil
	}
	snap := e.Snapshot()
	err := record.Save(e.opts.SavePath, snap)
	e.mu.Lock()
	e.saveErr = err
	e.mu.Unlock()
	return err
}

// Run builds what it needs, runs every repetition and returns the final record. The
// record is complete and saved whatever happens: an interrupted run (ctx cancelled) is
// marked so, with everything measured until then.
func (e *Experiment) Run(ctx context.Context) (*record.Record, error) {
	e.mu.Lock()
	e.rec.Started = time.Now()
	e.mu.Unlock()
	// A record that cannot be saved is refused now, not found out at the end.
	if err := e.Save(); err != nil {
		e.mu.Lock()
		e.rec.State, e.phase = record.StateFailed, record.PhaseDone
		e.mu.Unlock()
		return e.Snapshot(), fmt.Errorf("cannot save the run record to %s: %w", e.opts.SavePath, err)
	}
	stopSaving := e.autosave()
	err := e.run(ctx)
	stopSaving()
	e.mu.Lock()
	e.rec.Ended = time.Now()
	switch {
	case ctx.Err() != nil:
		e.rec.State = record.StateInterrupted
	case err != nil:
		e.rec.State = record.StateFailed
		e.rec.Events = append(e.rec.Events, record.Event{T: e.since(time.Now()), Kind: "error", Message: err.Error()})
	default:
		e.rec.State = record.StateDone
	}
	e.phase = record.PhaseDone
	e.mu.Unlock()
	e.notify()
	if saveErr := e.Save(); saveErr != nil && err == nil {
		err = fmt.Errorf("the run finished but its record could not be saved: %w", saveErr)
	}
	if ctx.Err() != nil && err == nil {
		err = ctx.Err()
	}
	return e.Snapshot(), err
}

// autosaveOnce saves, and says so at once when a save fails or works again: a run whose
// record is not being kept must not look as if it were.
func (e *Experiment) autosaveOnce() {
	e.mu.Lock()
	failing := e.saveErr != nil
	e.mu.Unlock()
	err := e.Save()
	switch {
	case err != nil && !failing:
		e.event("", "warning", fmt.Sprintf("autosave to %s failed: %v; the run goes on, and its record is saved again at its end", e.opts.SavePath, err))
	case err == nil && failing:
		e.event("", "warning", "autosave to "+e.opts.SavePath+" works again")
	}
}

// SaveErr is the last save's error, nil when the record on disk is current.
func (e *Experiment) SaveErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.saveErr
}

func (e *Experiment) autosave() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(AutosaveInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				e.autosaveOnce()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (e *Experiment) run(ctx context.Context) error {
	bins, err := e.build(ctx)
	if err != nil {
		return err
	}
	for run := 0; run < e.opts.Runs; run++ {
		if e.opts.Runs > 1 {
			e.event("", "run", fmt.Sprintf("run %d of %d", run+1, e.opts.Runs))
		}
		if err := e.runOnce(ctx, run, bins); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

// build returns the server binary for each lane that needs one.
func (e *Experiment) build(ctx context.Context) (map[string]servers.Binary, error) {
	bins := map[string]servers.Binary{}
	b := servers.NewBuilder()
	for i, l := range e.lanes {
		if l.kind == "command" {
			continue
		}
		name := l.allocator
		if l.kind == "preload" {
			name = "system"
		}
		if _, ok := bins[name]; !ok {
			alloc, err := servers.LookupAllocator(name)
			if err != nil {
				return nil, err
			}
			if b.CachedPath(alloc) == "" {
				e.event("", "build", fmt.Sprintf("building the %s server (cargo build --release: a minute on a fresh machine, seconds after)", name))
			}
			bin, err := b.Build(ctx, alloc)
			if err != nil {
				return nil, err
			}
			bins[name] = bin
		}
		e.mu.Lock()
		e.rec.Targets[i].Binary, e.rec.Targets[i].BinaryBytes = bins[name].Path, bins[name].SizeBytes
		e.mu.Unlock()
	}
	return bins, nil
}

func (e *Experiment) spec(l lane, bins map[string]servers.Binary) (servers.Spec, error) {
	var spec servers.Spec
	switch l.kind {
	case "command":
		spec = servers.Spec{Name: l.name, Command: []string{"sh", "-c", l.command}, Bind: e.opts.Bind, Guard: append(append([]string(nil), e.opts.Self...), "__guard", "--")}
	case "preload":
		spec = servers.ServerSpec(l.name, bins["system"].Path, e.opts.Bind, e.opts.Threads)
	default:
		spec = servers.ServerSpec(l.name, bins[l.allocator].Path, e.opts.Bind, e.opts.Threads)
	}
	if l.preload != "" {
		alloc, err := servers.LookupAllocator(l.preload)
		if err != nil {
			return spec, err
		}
		lib, err := alloc.PreloadPath()
		if err != nil {
			return spec, err
		}
		spec.Preload = lib
	}
	return spec, nil
}

func (e *Experiment) runOnce(ctx context.Context, run int, bins map[string]servers.Binary) error {
	e.setPhase(record.PhaseStarting)
	procs := make([]*servers.Process, len(e.lanes))
	stopAll := func() {
		var wg sync.WaitGroup
		for _, p := range procs {
			if p != nil {
				wg.Add(1)
				go func() { defer wg.Done(); p.Stop(servers.DefaultStopGrace) }()
			}
		}
		wg.Wait()
	}
	// Lanes take turns at going first, run by run: the first server started and the first
	// load worker connected would otherwise get a head start in every run, a bias that a
	// paired comparison would call a real difference between identical lanes.
	for _, i := range rotated(len(e.lanes), run) {
		l := e.lanes[i]
		spec, err := e.spec(l, bins)
		if err != nil {
			stopAll()
			return err
		}
		p, err := servers.Start(ctx, spec)
		if err != nil {
			stopAll()
			return err
		}
		procs[i] = p
		e.mu.Lock()
		e.rec.Targets[i].Runs = append(e.rec.Targets[i].Runs, record.TargetRun{PID: p.PID, Addr: p.Addr, Phases: record.Phases{Start: e.since(time.Now())}})
		if spec.Preload != "" {
			e.rec.Targets[i].Preload = spec.Preload
		}
		e.rec.Targets[i].Env = servers.AllocatorEnv(spec)
		e.mu.Unlock()
		e.event(l.name, "start", fmt.Sprintf("%s: pid %d serving on %s", l.name, p.PID, p.Addr))
	}
	var watchers sync.WaitGroup
	for i, p := range procs {
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			<-p.Done()
			ex := p.Exit()
			e.mu.Lock()
			tr := &e.rec.Targets[i].Runs[run]
			tr.Exit = &record.Exit{T: e.since(time.Now()), Code: ex.Code, Signal: ex.Signal, Requested: ex.Requested}
			e.mu.Unlock()
			if !ex.Requested {
				e.event(e.lanes[i].name, "crash", fmt.Sprintf("%s %s; the others go on. Last output: %v", e.lanes[i].name, ex, lastLines(p.Output(), 3)))
			}
			e.notify()
		}()
	}
	fs, err := probe.NewFS(probe.DefaultRoot)
	if err != nil {
		stopAll()
		return err
	}
	sctx, stopSampling := context.WithCancel(context.Background())
	var consumers sync.WaitGroup
	targets := make([]probe.Target, len(procs))
	for i, p := range procs {
		targets[i] = probe.Target{Name: e.lanes[i].name, PID: p.PID, Tree: e.lanes[i].kind == "command"}
	}
	sampler := &probe.Sampler{FS: fs, Interval: e.opts.Interval, SmapsInterval: max(probe.DefaultSmapsInterval, e.opts.Interval)}
	samples, err := sampler.Run(sctx, targets)
	if err != nil {
		stopSampling()
		stopAll()
		return err
	}
	e.meters = make([]*peakMeter, len(procs))
	for i, p := range procs {
		e.meters[i] = newPeakMeter(fs, p.PID, targets[i].Tree)
		e.mu.Lock()
		start := e.rec.Targets[i].Runs[run].Phases.Start
		e.mu.Unlock()
		e.meters[i].begin(record.PhaseBaseline, start)
	}
	consumers.Add(1)
	go func() {
		defer consumers.Done()
		e.consumeSamples(samples, run, func(i int) *[]record.Sample { return &e.rec.Targets[i].Runs[run].Samples })
	}()
	for i, l := range e.lanes {
		if l.kind != "command" {
			consumers.Add(1)
			go func() { defer consumers.Done(); e.pollHeap(sctx, i, run, procs[i].Addr) }()
		}
	}

	err = e.phases(ctx, run, procs)
	// An interrupted phase still gets its peak, read before the processes are stopped.
	for i := range procs {
		e.turnPhase(i, run, "")
	}

	e.setPhase(record.PhaseDone)
	stopAll()
	watchers.Wait()
	stopSampling()
	consumers.Wait()
	return err
}

// rotated is 0..n-1 starting at k mod n.
func rotated(n, k int) []int {
	out := make([]int, n)
	for j := range out {
		out[j] = (j + k) % n
	}
	return out
}

func lastLines(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// phases runs baseline, load and cooldown, concurrently for all targets or one after another.
func (e *Experiment) phases(ctx context.Context, run int, procs []*servers.Process) error {
	e.setPhase(record.PhaseBaseline)
	e.logf("baseline: %s idle", e.opts.Baseline)
	if !sleep(ctx, e.opts.Baseline) {
		return nil
	}
	groups := [][]int{}
	if e.opts.Sequential {
		for i := range procs {
			groups = append(groups, []int{i})
		}
	} else {
		all := make([]int, len(procs))
		for i := range all {
			all[i] = i
		}
		groups = append(groups, all)
	}
	for _, group := range groups {
		e.setPhase(record.PhaseLoad)
		e.load(ctx, run, group, procs)
		if ctx.Err() != nil {
			return nil
		}
		e.setPhase(record.PhaseCooldown)
		e.logf("cooldown: %s idle", e.opts.Cooldown)
		ok := sleep(ctx, e.opts.Cooldown)
		e.mu.Lock()
		now := e.since(time.Now())
		for _, i := range group {
			e.rec.Targets[i].Runs[run].Phases.CooldownEnd = now
		}
		e.mu.Unlock()
		if ok {
			for _, i := range group {
				e.turnPhase(i, run, "")
			}
		}
		if !ok {
			return nil
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// load drives the group's targets at once, each from its own worker process.
func (e *Experiment) load(ctx context.Context, run int, group []int, procs []*servers.Process) {
	var wg sync.WaitGroup
	names := ""
	for _, i := range group {
		names += " " + e.lanes[i].name
	}
	e.logf("load: %d connections for %s on%s", e.opts.Connections, e.opts.Duration, names)
	for _, k := range rotated(len(group), run) {
		i := group[k]
		cfg := loadgen.Config{
			Name: e.lanes[i].name, URL: "http://" + procs[i].Addr + e.opts.RequestPath(), Connections: e.opts.Connections,
			Pipelining: e.opts.Pipelining, Rate: e.opts.Rate, Duration: e.opts.Duration, Engine: e.opts.Engine,
		}
		e.mu.Lock()
		e.rec.Targets[i].Runs[run].Phases.LoadStart = e.since(time.Now())
		e.mu.Unlock()
		e.turnPhase(i, run, record.PhaseLoad)
		remote, err := loadgen.StartRemote(ctx, append(append([]string(nil), e.opts.Self...), "__loadworker"), cfg)
		if err != nil {
			e.event(e.lanes[i].name, "error", fmt.Sprintf("%s: load did not start: %v", e.lanes[i].name, err))
			e.mu.Lock()
			e.rec.Targets[i].Runs[run].Phases.LoadEnd = e.since(time.Now())
			e.mu.Unlock()
			e.turnPhase(i, run, record.PhaseCooldown)
			continue
		}
		if e.paused.Load() {
			remote.Pause()
		}
		e.mu.Lock()
		e.loads = append(e.loads, remote)
		e.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.follow(remote, i, run)
		}()
	}
	wg.Wait()
	e.mu.Lock()
	e.loads = nil
	e.mu.Unlock()
}

// follow records a load worker's snapshots, result and its own memory and CPU.
func (e *Experiment) follow(remote *loadgen.Remote, i, run int) {
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	var clientDone sync.WaitGroup
	fs, err := probe.NewFS(probe.DefaultRoot)
	var samples <-chan probe.Sample
	if err == nil {
		sampler := &probe.Sampler{FS: fs, Interval: e.opts.Interval}
		samples, err = sampler.Run(sctx, []probe.Target{{Name: "client", PID: remote.PID()}})
	}
	if err != nil {
		e.event(e.lanes[i].name, "warning", fmt.Sprintf("%s: the load generator's own CPU and memory are not measured: %v", e.lanes[i].name, err))
	} else {
		clientDone.Add(1)
		go func() {
			defer clientDone.Done()
			e.consumeSamples(samples, run, func(int) *[]record.Sample { return &e.rec.Targets[i].Runs[run].Client })
		}()
	}
	for s := range remote.Snapshots() {
		e.mu.Lock()
		tr := &e.rec.Targets[i].Runs[run]
		tr.Load = append(tr.Load, record.LoadTick{
			T: e.since(s.Time), Requests: s.Requests, Bytes: s.Bytes, Errors: s.Errors.Total(), Non2xx: s.Errors.Non2xx,
			P50: s.Latency.P50, P99: s.Latency.P99, Connections: s.Connections,
		})
		e.mu.Unlock()
		e.notify()
	}
	res := remote.Wait()
	stop()
	clientDone.Wait()
	if err := remote.Err(); err != nil {
		e.mu.Lock()
		tr := &e.rec.Targets[i].Runs[run]
		tr.Phases.LoadEnd = e.since(time.Now())
		tr.LoadError = err.Error()
		e.mu.Unlock()
		e.event(e.lanes[i].name, "load-died", fmt.Sprintf("%s: %v; its load figures are incomplete and it is left out of the comparisons; the others go on", e.lanes[i].name, err))
		e.turnPhase(i, run, record.PhaseCooldown)
		return
	}
	e.mu.Lock()
	tr := &e.rec.Targets[i].Runs[run]
	tr.Phases.LoadEnd = e.since(time.Now())
	tr.Result = &record.LoadResult{
		Requests: res.Requests, Duration: res.Duration, ReqPerSec: res.ReqPerSecMean(), Bytes: res.Bytes,
		P50: res.Latency.P50, P90: res.Latency.P90, P99: res.Latency.P99, P999: res.Latency.P99_9, Max: res.Latency.Max, Mean: res.Latency.Mean,
		Errors: map[string]uint64{"connect": res.Errors.Connect, "reset": res.Errors.Reset, "timeout": res.Errors.Timeout, "parse": res.Errors.Parse, "non2xx": res.Errors.Non2xx},
		Status: res.Status.Map(), CoordinatedOmissionCorrected: res.CoordinatedOmissionCorrected, Engine: res.Engine,
	}
	e.mu.Unlock()
	e.turnPhase(i, run, record.PhaseCooldown)
	e.notify()
}

// turnPhase records the peak of lane i's open phase, if any, and opens next ("" for none).
func (e *Experiment) turnPhase(i, run int, next string) {
	m := e.meters[i]
	now := e.since(time.Now())
	if m.phase != "" {
		e.mu.Lock()
		sampled := sampledPeak(e.rec.Targets[i].Runs[run].Samples, m.from, now)
		e.mu.Unlock()
		phase, peak := m.end(sampled)
		e.mu.Lock()
		tr := &e.rec.Targets[i].Runs[run]
		if tr.Peaks == nil {
			tr.Peaks = map[string]record.PeakRSS{}
		}
		tr.Peaks[phase] = peak
		e.mu.Unlock()
	}
	if next != "" {
		m.begin(next, now)
	}
}

// consumeSamples appends each sample to the series slot picks; slot is called with e.mu held.
func (e *Experiment) consumeSamples(samples <-chan probe.Sample, run int, slot func(i int) *[]record.Sample) {
	index := map[string]int{}
	for i, l := range e.lanes {
		index[l.name] = i
	}
	for s := range samples {
		e.mu.Lock()
		t := e.since(s.Time)
		for _, ts := range s.Targets {
			if ts.Exited {
				continue
			}
			series := slot(index[ts.Name])
			*series = append(*series, toSample(t, ts.Total))
		}
		e.mu.Unlock()
		e.notify()
	}
}

// toSample keeps a probe reading in the record's own type, at offset t.
func toSample(t time.Duration, p probe.Process) record.Sample {
	return record.Sample{
		T: t, RSSBytes: p.RSSBytes, VSZBytes: p.VSZBytes, PeakRSSBytes: p.PeakRSSBytes, AnonBytes: p.AnonBytes,
		FileBytes: p.FileBytes, PSSBytes: p.PSSBytes, USSBytes: p.USSBytes, CPUPercent: p.CPUPercent,
		Threads: p.Threads, FDs: p.FDs, MinorFaults: p.MinorFaults,
	}
}

type serverStats struct {
	Version        string            `json:"version"`
	Requests       uint64            `json:"requests"`
	LiveBytes      uint64            `json:"live_bytes"`
	AllocatedBytes *uint64           `json:"allocated_bytes"`
	CommittedBytes *uint64           `json:"committed_bytes"`
	Raw            map[string]uint64 `json:"raw"`
}

// pollHeap asks the built-in server for its allocator's own figures each interval.
func (e *Experiment) pollHeap(ctx context.Context, i, run int, addr string) {
	client := &http.Client{Timeout: e.opts.Interval}
	t := time.NewTicker(e.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/stats", nil)
		resp, err := client.Do(req)
		if err != nil {
			continue // busy under load or gone: the probe series tells which
		}
		var s serverStats
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s)
		resp.Body.Close()
		if err != nil {
			continue
		}
		e.mu.Lock()
		tr := &e.rec.Targets[i].Runs[run]
		tr.Heap = append(tr.Heap, record.HeapStats{
			T: e.since(time.Now()), AllocatedBytes: s.AllocatedBytes, CommittedBytes: s.CommittedBytes,
			LiveBytes: s.LiveBytes, Requests: s.Requests, Version: s.Version, Raw: s.Raw,
		})
		e.mu.Unlock()
		e.notify()
	}
}
