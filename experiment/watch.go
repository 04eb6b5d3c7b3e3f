package experiment

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
)

// PhaseWatch is the one phase of a watch.
const PhaseWatch record.Phase = record.ScenarioWatch

// Watch samples running processes (no spawning) into a record, until ctx ends, the
// duration passes or every process has exited.
type Watch struct {
	mu       sync.Mutex
	rec      *record.Record
	changed  chan struct{}
	done     chan struct{}
	err      error
	savePath string
	// meters measure each process's exact peak over the watch.
	meters []*peakMeter
}

// WatchOptions says what to watch.
type WatchOptions struct {
	PIDs     []int
	Interval time.Duration
	Duration time.Duration // 0: until interrupted or every process exited
	// Tree includes each PID's descendants.
	Tree     bool
	SavePath string
	Version  string
}

// StartWatch checks every PID, then samples them in the background.
func StartWatch(ctx context.Context, o WatchOptions) (*Watch, error) {
	if len(o.PIDs) == 0 {
		return nil, errors.New("watch needs at least one PID")
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Interval < 50*time.Millisecond {
		return nil, fmt.Errorf("--interval %s: use 50ms or more", o.Interval)
	}
	if o.Duration < 0 {
		return nil, fmt.Errorf("--duration %s is negative", o.Duration)
	}
	fs, err := probe.NewFS(probe.DefaultRoot)
	if err != nil {
		return nil, err
	}
	w := &Watch{changed: make(chan struct{}, 1), done: make(chan struct{}), savePath: o.SavePath}
	w.rec = &record.Record{
		Schema: record.SchemaVersion, Tool: record.Tool{Version: o.Version, GoVersion: runtime.Version()}, Machine: DescribeMachine(),
		Plan:  record.Plan{Scenario: record.ScenarioWatch, Interval: o.Interval, Duration: o.Duration, Runs: 1},
		State: record.StateRunning, Started: time.Now(),
	}
	var targets []probe.Target
	for _, pid := range o.PIDs {
		if err := fs.Check(pid); err != nil {
			return nil, err
		}
		p, _ := fs.ReadProcess(pid, 0)
		name := fmt.Sprintf("%d %s", pid, p.Comm)
		targets = append(targets, probe.Target{Name: name, PID: pid, Tree: o.Tree})
		m := newPeakMeter(fs, pid, o.Tree)
		m.begin(PhaseWatch, 0)
		w.meters = append(w.meters, m)
		w.rec.Targets = append(w.rec.Targets, record.Target{Name: name, Kind: record.KindProcess, Runs: []record.TargetRun{{PID: pid}}})
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration+o.Interval/2)
		go func() { <-w.done; cancel() }()
	}
	s := &probe.Sampler{FS: fs, Interval: o.Interval, SmapsInterval: max(probe.DefaultSmapsInterval, o.Interval)}
	samples, err := s.Run(ctx, targets)
	if err != nil {
		return nil, err
	}
	go w.follow(ctx, samples)
	return w, nil
}

func (w *Watch) follow(ctx context.Context, samples <-chan probe.Sample) {
	defer close(w.done)
	index := map[string]int{}
	for i, t := range w.rec.Targets {
		index[t.Name] = i
	}
	for s := range samples {
		w.mu.Lock()
		t := s.Time.Sub(w.rec.Started)
		for _, ts := range s.Targets {
			run := &w.rec.Targets[index[ts.Name]].Runs[0]
			if ts.Exited {
				run.Exit = &record.Exit{T: t, Code: -1, Requested: true}
				w.rec.Events = append(w.rec.Events, record.Event{T: t, Target: ts.Name, Kind: record.EventExit, Message: fmt.Sprintf("process %s exited", ts.Name)})
				continue
			}
			run.Samples = append(run.Samples, toSample(t, ts.Total))
		}
		w.mu.Unlock()
		w.notify()
	}
	w.mu.Lock()
	for i, m := range w.meters {
		run := &w.rec.Targets[i].Runs[0]
		phase, peak := m.end(sampledPeak(run.Samples, 0, 0))
		run.Peaks = map[record.Phase]record.PeakRSS{phase: peak}
	}
	w.rec.Ended = time.Now()
	w.rec.State = record.StateDone
	if errors.Is(ctx.Err(), context.Canceled) {
		w.rec.State = record.StateInterrupted
	}
	w.mu.Unlock()
	if w.savePath != "" {
		w.err = record.Save(w.savePath, w.Snapshot())
	}
	w.notify()
}

func (w *Watch) notify() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// Snapshot is a copy of the record now.
func (w *Watch) Snapshot() *record.Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rec.Clone()
}

// Phase is always "watch".
func (w *Watch) Phase() record.Phase { return PhaseWatch }

// Changed receives when a sample arrived.
func (w *Watch) Changed() <-chan struct{} { return w.changed }

// Done is closed when the watch has ended and is saved.
func (w *Watch) Done() <-chan struct{} { return w.done }

// Err is the save error, if any.
func (w *Watch) Err() error { return w.err }

// SavePath is where the record is saved.
func (w *Watch) SavePath() string { return w.savePath }
