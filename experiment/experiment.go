package experiment

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// AutosaveInterval is how often a running experiment saves its record, so that even a
// kill -9 of allocscope leaves most of the run on disk. The save is one of the
// heartbeat's beats, not a clock of its own.
const AutosaveInterval = 3 * time.Second

// Experiment is one run of the plan, observable while it goes. It runs phases and lanes
// against parts (seams.go); its Recorder alone owns the record; one heartbeat per
// sampling interval measures everything (beat.go).
type Experiment struct {
	opts  Options
	lanes []lane
	parts parts
	// Log receives one line per build step and phase change; nil discards them.
	Log io.Writer

	*Recorder

	mu     sync.Mutex
	paused atomic.Bool
	// step is the sweep step being run (0 outside a sweep), or the --fit trial.
	step int
	// hierarchy is the memory cgroup hierarchy when lanes run in cgroups; cgParent is
	// this run's parent cgroup in it.
	hierarchy cgroupMaker
	cgParent  cgroupParent
	// fitLimits are the lanes' limits in the current --fit trial.
	fitLimits []uint64
	// now is the current run's lanes, as the heartbeat and the keys reach them (nil
	// between runs).
	now *running
	// meters measure each lane's per-phase peak in the current run.
	meters []*peakMeter
	beat   *heartbeat
	// cpu measures the machine's CPU shares on the beat (nil when it cannot).
	cpu cpuMeter
	// onCycle, a test seam, runs as each cycle begins, before its load, for each lane
	// with a process at addr: the leak test makes one lane leak a fixed amount per cycle
	// there (GET /leak), which a load's mix could not do exactly. Nil outside tests.
	onCycle func(ctx context.Context, lane int, addr string)
}

// parts are what an experiment drives.
type parts struct {
	starter processStarter
	builder builder
	loads   loadStarter
	heap    heapReader
	proc    prober
	// cgroups checks that lanes can run in cgroups and makes them; called only by a
	// plan that uses them.
	cgroups func() (cgroupMaker, error)
}

// realParts are the real servers, load workers and /proc at procRoot.
func realParts(opts Options, procRoot string) (parts, error) {
	fs, err := probe.NewFS(procRoot)
	if err != nil {
		return parts{}, err
	}
	p := parts{
		starter: realStarter{}, builder: servers.NewBuilder(), loads: workerLoads{self: opts.Self},
		heap: &httpHeap{client: &http.Client{}, conns: map[string]*servers.StatsConn{}}, proc: procFS{fs: fs, interval: opts.Interval},
		cgroups: machineCgroups,
	}
	if opts.ExternalLoad != "" {
		if p.loads, err = newCommandLoads(opts); err != nil {
			return parts{}, err
		}
	}
	return p, nil
}

// New validates the options and prepares an experiment.
func New(opts Options) (*Experiment, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	p, err := realParts(opts, probe.DefaultRoot)
	if err != nil {
		return nil, err
	}
	return newExperiment(opts, p)
}

// newExperiment prepares an experiment of a valid plan on parts.
func newExperiment(opts Options, p parts) (*Experiment, error) {
	e := &Experiment{opts: opts, lanes: opts.lanes(), parts: p}
	if opts.usesCgroups() {
		h, err := p.cgroups()
		if err != nil {
			return nil, err
		}
		e.hierarchy = h
	}
	first := opts.AtStep(0)
	rec := &record.Record{
		Schema:  record.SchemaVersion,
		Tool:    record.Tool{Version: opts.Version, GoVersion: runtime.Version(), Versions: toolVersions()},
		Machine: DescribeMachine(),
		Plan: record.Plan{
			Allocators: opts.Allocators, Scenario: first.Scenario, Path: first.RequestPath(), Connections: first.Connections,
			Pipelining: opts.Pipelining, Rate: opts.Rate, Duration: opts.Duration, Baseline: opts.Baseline, Cooldown: opts.Cooldown,
			Interval: opts.Interval, Sequential: opts.Sequential, Runs: opts.Runs, LoadCommand: first.LoadCommand(), ExternalLoad: opts.ExternalLoad != "",
			Sweep: opts.recordSweep(), MemoryLimitBytes: opts.MemoryLimit, Fit: opts.fitPlan(),
			Shape: opts.ShapeSpec, Steps: opts.Shape,
		},
		State: record.StateRunning,
	}
	if len(opts.Mix) > 0 {
		rec.Plan.Path = ""
		for _, r := range opts.Mix {
			rec.Plan.Mix = append(rec.Plan.Mix, record.MixRequest{Method: r.Method, URL: r.URL, Weight: r.Weight})
		}
	} else if opts.Method != "GET" {
		rec.Plan.Method = opts.Method
	}
	if opts.Cycled() {
		rec.Plan.Cycles, rec.Plan.Idle, rec.Plan.Soak = opts.Cycles, opts.CycleIdle(), opts.Soak
	}
	if e.hierarchy != nil {
		rec.Plan.Cgroup = fmt.Sprintf("v%d", e.hierarchy.Version())
	}
	for _, l := range e.lanes {
		t := record.Target{Name: l.name, Allocator: l.allocator, Kind: l.kind, URL: l.url, MemoryFrom: l.memory, Group: l.group, CPUs: l.cpus}
		if l.command != "" {
			t.Command = servers.CommandArgv(l.command)
		}
		rec.Targets = append(rec.Targets, t)
	}
	e.Recorder = newRecorder(rec)
	return e, nil
}

// Options returns the plan with defaults filled in (in a sweep, the current step's).
func (e *Experiment) Options() Options {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts
}

// Pause stops the load's traffic (the clock runs on, and the pause is an event of the
// record); Resume restarts it. Outside the load phase there is nothing to pause: both do
// nothing, and the load's end ends a pause.
func (e *Experiment) Pause() { e.setPaused(true) }

// Resume undoes Pause.
func (e *Experiment) Resume() { e.setPaused(false) }

// Paused says whether the load is paused.
func (e *Experiment) Paused() bool { return e.paused.Load() }

func (e *Experiment) setPaused(p bool) {
	e.mu.Lock()
	// A pause before the load would hold it back for the whole run; one in the cooldown
	// would pause nothing.
	if e.Phase() != record.PhaseLoad || e.paused.Load() == p {
		e.mu.Unlock()
		return
	}
	e.paused.Store(p)
	var loads []loadRun
	if e.now != nil {
		loads = e.now.loadRuns()
	}
	e.mu.Unlock()
	for _, l := range loads {
		if p {
			l.Pause()
		} else {
			l.Resume()
		}
	}
	kind := record.EventResume
	if p {
		kind = record.EventPause
	}
	e.event("", kind, "load "+string(kind)+"d by the user")
}

// endPause ends a pause that outlived the load, so that the next load starts unpaused;
// call it once the phase has left the load.
func (e *Experiment) endPause() {
	if e.paused.Swap(false) {
		e.event("", record.EventResume, "the load ended while paused")
	}
}

// since is the offset of t from the record's start.
func (e *Experiment) since(t time.Time) time.Duration { return e.Since(t) }

func (e *Experiment) event(target string, kind record.EventKind, msg string) {
	e.Event(target, kind, msg)
	e.logf("%s", msg)
}

func (e *Experiment) logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format+"\n", args...)
	}
}

// Save writes the record now to the plan's SavePath.
func (e *Experiment) Save() error { return e.Recorder.Save(e.opts.SavePath) }

// Run builds what it needs, runs every repetition and returns the final record. The
// record is complete and saved whatever happens: an interrupted run (ctx cancelled) is
// marked so, with everything measured until then.
func (e *Experiment) Run(ctx context.Context) (*record.Record, error) {
	e.Start(time.Now())
	// A record that cannot be saved is refused now, not found out at the end.
	if err := e.Save(); err != nil {
		e.End(record.StateFailed, nil)
		return e.Snapshot(), fmt.Errorf("cannot save the run record to %s: %w", e.opts.SavePath, err)
	}
	stopMetering := e.meterInterference()
	e.beat = startHeartbeat(e)
	err := e.run(ctx)
	e.beat.stop()
	stopMetering()
	switch {
	case ctx.Err() != nil:
		e.End(record.StateInterrupted, nil)
	case err != nil:
		e.End(record.StateFailed, err)
	default:
		e.End(record.StateDone, nil)
	}
	if saveErr := e.Save(); saveErr != nil && err == nil {
		err = fmt.Errorf("the run finished but its record could not be saved: %w", saveErr)
	}
	if ctx.Err() != nil && err == nil {
		err = ctx.Err()
	}
	return e.Snapshot(), err
}

func (e *Experiment) run(ctx context.Context) error {
	bins, err := e.build(ctx)
	if err != nil {
		return err
	}
	endCgroups, err := e.beginCgroups()
	if err != nil {
		return err
	}
	defer endCgroups()
	plan := e.Options()
	if plan.Fit {
		return e.fit(ctx, bins)
	}
	runs := plan.Runs
	for step := 0; step < plan.Steps(); step++ {
		e.mu.Lock()
		e.opts, e.step = plan.AtStep(step), step
		e.mu.Unlock()
		if plan.Sweep != nil {
			e.event("", record.EventStep, fmt.Sprintf("step %d of %d: %s", step+1, plan.Steps(), plan.Sweep.Label(step)))
		}
		for run := 0; run < runs; run++ {
			if runs > 1 {
				e.event("", record.EventRun, fmt.Sprintf("run %d of %d", run+1, runs))
			}
			// Runs are numbered across the steps: run k of step s is the record's s*runs+k.
			if err := e.runOnce(ctx, step*runs+run, bins); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
		}
	}
	return nil
}
