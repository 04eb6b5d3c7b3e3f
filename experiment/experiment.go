package experiment

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/loadgen"
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
	// step is the sweep step being run (0 outside a sweep), or the --fit trial.
	step int
	// hierarchy is the memory cgroup hierarchy when lanes run in cgroups; cgParent is
	// this run's parent cgroup in it, and groups the current run's lane cgroups.
	hierarchy *cgroup.Hierarchy
	cgParent  *cgroup.Parent
	groups    []*cgroup.Group
	// fitLimits are the lanes' limits in the current --fit trial.
	fitLimits []uint64
	// procs are the current run's started processes (nil between runs), procsRun its
	// index: what an on-demand purge reaches.
	procs    []*servers.Process
	procsRun int
}

// New validates the options and prepares an experiment.
func New(opts Options) (*Experiment, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	e := &Experiment{opts: opts, lanes: opts.lanes(), changed: make(chan struct{}, 1), phase: record.PhaseStarting}
	if opts.usesCgroups() {
		h, err := checkCgroups()
		if err != nil {
			return nil, err
		}
		e.hierarchy = h
	}
	first := opts.AtStep(0)
	e.rec = &record.Record{
		Schema:  record.SchemaVersion,
		Tool:    record.Tool{Version: opts.Version, GoVersion: runtime.Version(), Versions: toolVersions()},
		Machine: DescribeMachine(),
		Plan: record.Plan{
			Allocators: opts.Allocators, Scenario: first.Scenario, Path: first.RequestPath(), Connections: first.Connections,
			Pipelining: opts.Pipelining, Rate: opts.Rate, Duration: opts.Duration, Baseline: opts.Baseline, Cooldown: opts.Cooldown,
			Interval: opts.Interval, Sequential: opts.Sequential, Runs: opts.Runs, LoadCommand: first.LoadCommand(),
			Sweep: opts.recordSweep(), MemoryLimitBytes: opts.MemoryLimit, Fit: opts.fitPlan(),
		},
		State: record.StateRunning,
	}
	if len(opts.Mix) > 0 {
		e.rec.Plan.Path = ""
		for _, r := range opts.Mix {
			e.rec.Plan.Mix = append(e.rec.Plan.Mix, record.MixRequest{Method: r.Method, URL: r.URL, Weight: r.Weight})
		}
	} else if opts.Method != "GET" {
		e.rec.Plan.Method = opts.Method
	}
	if e.hierarchy != nil {
		e.rec.Plan.Cgroup = fmt.Sprintf("v%d", e.hierarchy.Version)
	}
	for _, l := range e.lanes {
		t := record.Target{Name: l.name, Allocator: l.allocator, Kind: l.kind, URL: l.url, MemoryFrom: l.memory, CPUs: l.cpus}
		if l.command != "" {
			t.Command = []string{"sh", "-c", l.command}
		}
		e.rec.Targets = append(e.rec.Targets, t)
	}
	return e, nil
}

// Options returns the plan with defaults filled in (in a sweep, the current step's).
func (e *Experiment) Options() Options {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts
}

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
	if e.phase != record.PhaseLoad || e.paused.Load() == p {
		e.mu.Unlock()
		return
	}
	e.paused.Store(p)
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

// endPause ends a pause that outlived the load, so that the next load starts unpaused;
// call it once the phase has left the load.
func (e *Experiment) endPause() {
	if e.paused.Swap(false) {
		e.event("", "resume", "the load ended while paused")
	}
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
	stopMetering := e.meterInterference()
	err := e.run(ctx)
	stopMetering()
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
			e.event("", "step", fmt.Sprintf("step %d of %d: %s", step+1, plan.Steps(), plan.Sweep.Label(step)))
		}
		for run := 0; run < runs; run++ {
			if runs > 1 {
				e.event("", "run", fmt.Sprintf("run %d of %d", run+1, runs))
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
