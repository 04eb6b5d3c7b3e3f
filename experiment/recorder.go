package experiment

import (
	"fmt"
	"sync"
	"time"

	"github.com/allocscope/allocscope/record"
)

// Recorder owns a run record while it is being made: everything written to it goes
// through its methods, and readers get snapshots. Series are only appended to, so a
// snapshot shares them (record.Share) instead of copying the whole record per change.
type Recorder struct {
	mu      sync.Mutex
	data    *record.Record
	phase   record.Phase
	changed chan struct{}
	saveErr error
	// saving orders the saves; journal is the running record's header and journal on
	// disk between the whole saves at the run's start and end.
	saving  sync.Mutex
	journal *record.Journal
}

func newRecorder(rec *record.Record) *Recorder {
	return &Recorder{data: rec, phase: record.PhaseStarting, changed: make(chan struct{}, 1)}
}

// Snapshot is the record now, safe to keep and read (not to write to).
func (r *Recorder) Snapshot() *record.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.data.Share()
}

// Changed receives a value whenever the record changed (coalesced: at most one waits).
func (r *Recorder) Changed() <-chan struct{} { return r.changed }

// Notify tells the reader of Changed that there is something new.
func (r *Recorder) Notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Phase is the current phase.
func (r *Recorder) Phase() record.Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phase
}

// SetPhase moves to phase p, which the view shows at once.
func (r *Recorder) SetPhase(p record.Phase) {
	r.mu.Lock()
	r.phase = p
	r.mu.Unlock()
	r.Notify()
}

// Start stamps the record's start: every offset in it counts from here.
func (r *Recorder) Start(t time.Time) {
	r.mu.Lock()
	r.data.Started = t
	r.mu.Unlock()
}

// Since is t's offset from the record's start.
func (r *Recorder) Since(t time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return t.Sub(r.data.Started)
}

// sinceLocked is Since for an EditRun's f, which runs with the record locked.
func (r *Recorder) sinceLocked(t time.Time) time.Duration { return t.Sub(r.data.Started) }

// Event records something that happened now; the view shows it at once.
func (r *Recorder) Event(target string, kind record.EventKind, msg string) {
	r.mu.Lock()
	r.data.Events = append(r.data.Events, record.Event{T: time.Since(r.data.Started), Target: target, Kind: kind, Message: msg})
	r.mu.Unlock()
	r.Notify()
}

// End closes the record in state, at phase done.
func (r *Recorder) End(state string, err error) {
	r.mu.Lock()
	r.data.Ended = time.Now()
	r.data.State = state
	if err != nil {
		r.data.Events = append(r.data.Events, record.Event{T: time.Since(r.data.Started), Kind: record.EventError, Message: err.Error()})
	}
	r.phase = record.PhaseDone
	r.mu.Unlock()
	r.Notify()
}

// StartRun appends lane i's next run and says its index.
func (r *Recorder) StartRun(i int, tr record.TargetRun) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data.Targets[i].Runs = append(r.data.Targets[i].Runs, tr)
	return len(r.data.Targets[i].Runs) - 1
}

// AppendSample adds a sample of lane i's process in run.
func (r *Recorder) AppendSample(i, run int, s record.Sample) {
	r.editRun(i, run, func(tr *record.TargetRun) { tr.Samples = append(tr.Samples, s) })
}

// AppendClient adds a sample of lane i's load worker in run.
func (r *Recorder) AppendClient(i, run int, s record.Sample) {
	r.editRun(i, run, func(tr *record.TargetRun) { tr.Client = append(tr.Client, s) })
}

// AppendHeap adds a reading of lane i's allocator statistics in run.
func (r *Recorder) AppendHeap(i, run int, h record.HeapStats) {
	r.editRun(i, run, func(tr *record.TargetRun) { tr.Heap = append(tr.Heap, h) })
}

// AppendLoad adds a second of lane i's load in run.
func (r *Recorder) AppendLoad(i, run int, t record.LoadTick) {
	r.editRun(i, run, func(tr *record.TargetRun) { tr.Load = append(tr.Load, t) })
}

// AppendPurge adds a purge's answer to lane i's run.
func (r *Recorder) AppendPurge(i, run int, p record.Purge) {
	r.editRun(i, run, func(tr *record.TargetRun) { tr.Purges = append(tr.Purges, p) })
}

// AppendCPU adds a reading of the machine's CPU shares to them and their summary.
func (r *Recorder) AppendCPU(s record.CPUShare) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if in := r.data.Interference; in != nil {
		in.Append(r.data, s)
	}
}

// SetPeak keeps lane i's peak of phase in run: over a run of cycles, the highest of
// that phase's.
func (r *Recorder) SetPeak(i, run int, phase record.Phase, p record.PeakRSS) {
	r.editRun(i, run, func(tr *record.TargetRun) {
		if tr.Peaks == nil {
			tr.Peaks = map[record.Phase]record.PeakRSS{}
		}
		if old, ok := tr.Peaks[phase]; ok && old.Bytes >= p.Bytes {
			return
		}
		tr.Peaks[phase] = p
	})
}

// EditRun changes lane i's run in place: what is not a series (phases' ends, its exit,
// its load's result, its cgroup's readings).
func (r *Recorder) EditRun(i, run int, f func(*record.TargetRun)) { r.editRun(i, run, f) }

func (r *Recorder) editRun(i, run int, f func(*record.TargetRun)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i < len(r.data.Targets) && run < len(r.data.Targets[i].Runs) {
		f(&r.data.Targets[i].Runs[run])
	}
}

// EditTarget changes lane i's description (its binary, settings, environment).
func (r *Recorder) EditTarget(i int, f func(*record.Target)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.data.Targets[i])
}

// Edit changes the record as a whole (the plan, a fit trial's runs moved aside).
func (r *Recorder) Edit(f func(*record.Record)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r.data)
}

// Save writes the whole record to path atomically, and removes the journal of the
// autosaves once it is written; SaveErr keeps the outcome.
func (r *Recorder) Save(path string) error {
	if path == "" {
		return nil
	}
	r.saving.Lock()
	defer r.saving.Unlock()
	if r.journal != nil && r.journal.Thinned() {
		if err := r.makeWhole(path); err != nil {
			err = fmt.Errorf("%w; the record so far is in %s and its journal", err, path)
			r.setSaveErr(err)
			return err
		}
	}
	err := record.Save(path, r.Snapshot())
	if err == nil && r.journal != nil {
		r.journal.Close()
		r.journal = nil
	}
	r.setSaveErr(err)
	return err
}

// makeWhole makes the record in memory, which Autosave thinned, whole again from its
// journal: everything the run measured goes into the record saved at its end, and into
// the summary, exports and gates computed from the final snapshot.
func (r *Recorder) makeWhole(path string) error {
	if err := r.journal.Write(r.Snapshot()); err != nil {
		return err
	}
	disk, err := record.Load(path)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	whole, err := r.journal.Whole(r.data, disk)
	if err != nil {
		return err
	}
	if in := whole.Interference; in != nil {
		in.Summarize(whole)
	}
	r.data = whole
	return nil
}

func (r *Recorder) setSaveErr(err error) {
	r.mu.Lock()
	r.saveErr = err
	r.mu.Unlock()
}

// Autosave saves what is new since the last autosave (record.Journal: a 24-hour record
// is not written again whole every few seconds), and says so at once when a save fails
// or works again: a run whose record is not being kept must not look as if it were.
func (r *Recorder) Autosave(path string) {
	failing := r.SaveErr() != nil
	r.saving.Lock()
	if r.journal == nil {
		r.journal = record.NewJournal(path)
	}
	err := r.journal.Write(r.Snapshot())
	if err == nil {
		r.thin()
	}
	r.setSaveErr(err)
	r.saving.Unlock()
	switch {
	case err != nil && !failing:
		r.Event("", record.EventWarning, fmt.Sprintf("autosave to %s failed: %v; the run goes on, and its record is saved again at its end", path, err))
	case err == nil && failing:
		r.Event("", record.EventWarning, "autosave to "+path+" works again")
	}
}

// thin drops from memory the older entries of the series the journal now holds (see
// record.KeepWhole): a soak's series would otherwise grow for as long as it runs, by a
// kilobyte or two a lane a beat. A --fit search moves runs aside, after which the
// journal starts again from the series in memory, so its record is never thinned; its
// runs are of a load's length anyway.
func (r *Recorder) thin() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.data.Plan.Fit == nil {
		r.journal.Thin(r.data)
	}
}

// SaveErr is the last save's error, nil when the record on disk is current.
func (r *Recorder) SaveErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.saveErr
}
