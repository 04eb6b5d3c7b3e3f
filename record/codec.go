package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/allocscope/allocscope/atomicfile"
)

// ErrNotRecord means the input is not an allocscope run record.
var ErrNotRecord = errors.New("not an allocscope run record")

// Encode writes r as indented JSON.
func Encode(w io.Writer, r *Record) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(r)
}

// Decode reads a record and checks that it is one this version can read.
func Decode(rd io.Reader) (*Record, error) {
	data, err := io.ReadAll(io.LimitReader(rd, 1<<30))
	if err != nil {
		return nil, err
	}
	return Unmarshal(data)
}

// Unmarshal parses a record from JSON.
func Unmarshal(data []byte) (*Record, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrNotRecord)
	}
	// One pass in the common case: a 24-hour record at 1 s is some 80 MiB, and parsing
	// it once for its version and again for its figures doubled replay's load time. The
	// outer Schema and Tool shadow the embedded Record's, so their absence shows.
	var whole struct {
		Record
		Schema *int             `json:"schema"`
		Tool   *json.RawMessage `json:"tool"`
	}
	if err := json.Unmarshal(data, &whole); err != nil {
		if err := checkVersion(data); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("the run record is damaged: %v", err)
	}
	if err := versionError(whole.Schema, whole.Tool != nil); err != nil {
		return nil, err
	}
	r := whole.Record
	r.Schema = *whole.Schema
	if err := json.Unmarshal(*whole.Tool, &r.Tool); err != nil {
		return nil, fmt.Errorf("the run record is damaged: %v", err)
	}
	for i, t := range r.Targets {
		if t.Name == "" {
			return nil, fmt.Errorf("the run record is damaged: target %d has no name", i+1)
		}
	}
	return &r, nil
}

// checkVersion says why data is not a record this version can read, where it is not:
// truncated, not JSON, not a record, or of a newer schema.
func checkVersion(data []byte) error {
	var probe struct {
		Schema *int `json:"schema"`
		Tool   *struct {
			Version string `json:"version"`
		} `json:"tool"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) && syn.Offset >= int64(len(data)) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("the run record is truncated (JSON ends early at byte %d): it was cut off while being written or copied", len(data))
		}
		return fmt.Errorf("%w: %v", ErrNotRecord, err)
	}
	return versionError(probe.Schema, probe.Tool != nil)
}

func versionError(schema *int, hasTool bool) error {
	switch {
	case schema == nil || !hasTool:
		return fmt.Errorf("%w: it has no schema version", ErrNotRecord)
	case *schema > SchemaVersion:
		return fmt.Errorf("the run record has schema version %d, newer than the %d this allocscope reads: update allocscope", *schema, SchemaVersion)
	case *schema < 1:
		return fmt.Errorf("%w: schema version %d", ErrNotRecord, *schema)
	}
	return nil
}

// Load reads a record from a file.
func Load(path string) (*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Journal != nil {
		if err := readJournal(r, filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return r, nil
}

// Save writes a record atomically: readers see the old file or the new one, never half.
func Save(path string, r *Record) error {
	var buf bytes.Buffer
	if err := Encode(&buf, r); err != nil {
		return err
	}
	return WriteFileAtomic(path, buf.Bytes())
}

// WriteFileAtomic writes data through a temporary file in the same directory, synced,
// and a rename (atomicfile.WriteFile), readable by all like any report.
func WriteFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, errors.Unwrap(err))
	}
	return nil
}

// Clone deep-copies a record, so that a view may keep it while the run goes on. It is
// called for every frame of the TUI, so it copies slices directly rather than through JSON.
func (r *Record) Clone() *Record {
	c := *r
	c.Tool.Versions = cloneMap(r.Tool.Versions)
	c.Plan.Allocators = slices.Clone(r.Plan.Allocators)
	c.Plan.Mix = slices.Clone(r.Plan.Mix)
	c.Plan.Steps = slices.Clone(r.Plan.Steps)
	if r.Plan.Sweep != nil {
		sw := *r.Plan.Sweep
		sw.Values, sw.Paths = slices.Clone(sw.Values), slices.Clone(sw.Paths)
		c.Plan.Sweep = &sw
	}
	c.Plan.Fit = clonePtr(r.Plan.Fit)
	c.Events = slices.Clone(r.Events)
	if r.Interference != nil {
		in := *r.Interference
		in.Series = slices.Clone(in.Series)
		c.Interference = &in
	}
	c.Targets = make([]Target, len(r.Targets))
	for i, t := range r.Targets {
		t.Command = slices.Clone(t.Command)
		t.Env = cloneMap(t.Env)
		t.Settings = cloneMap(t.Settings)
		t.SettingIssues = slices.Clone(t.SettingIssues)
		t.SettingsUnchecked = slices.Clone(t.SettingsUnchecked)
		t.Proof = slices.Clone(t.Proof)
		t.Runs = cloneRuns(t.Runs)
		t.FitTrials = cloneRuns(t.FitTrials)
		c.Targets[i] = t
	}
	return &c
}

func cloneRuns(in []TargetRun) []TargetRun {
	if in == nil {
		return nil
	}
	runs := make([]TargetRun, len(in))
	for j, run := range in {
		run.Samples = slices.Clone(run.Samples)
		run.Client = slices.Clone(run.Client)
		run.Load = slices.Clone(run.Load)
		run.Heap = slices.Clone(run.Heap)
		run.Purges = slices.Clone(run.Purges)
		run.Cycles = slices.Clone(run.Cycles)
		for k := range run.Cycles {
			run.Cycles[k].Peak = clonePtr(run.Cycles[k].Peak)
		}
		for k := range run.Heap {
			run.Heap[k].AllocatedBytes = clonePtr(run.Heap[k].AllocatedBytes)
			run.Heap[k].CommittedBytes = clonePtr(run.Heap[k].CommittedBytes)
			run.Heap[k].Raw = cloneMap(run.Heap[k].Raw)
		}
		if run.Result != nil {
			res := *run.Result
			res.Errors, res.Status = cloneMap(res.Errors), cloneMap(res.Status)
			run.Result = &res
		}
		run.Exit = clonePtr(run.Exit)
		run.Peaks = cloneMap(run.Peaks)
		run.Cgroup = clonePtr(run.Cgroup)
		runs[j] = run
	}
	return runs
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Share is a copy of r that a reader may keep while r goes on growing, at the cost of
// copying what changes in place (targets, runs, peaks, cgroup readings) but not the
// series. It holds for a record whose series (samples, load ticks, heap readings,
// purges, events, CPU shares, setting issues) are only ever appended to: the copy's
// slices are capped at their length now, so an append to r never writes where the copy
// reads, and the copy's own appends reallocate.
func (r *Record) Share() *Record {
	c := *r
	c.Events = capped(r.Events)
	if r.Interference != nil {
		in := *r.Interference
		in.Series = capped(in.Series)
		c.Interference = &in
	}
	c.Targets = make([]Target, len(r.Targets))
	for i, t := range r.Targets {
		t.SettingIssues = capped(t.SettingIssues)
		t.Runs = shareRuns(t.Runs)
		t.FitTrials = shareRuns(t.FitTrials)
		c.Targets[i] = t
	}
	return &c
}

func capped[S ~[]E, E any](s S) S { return s[:len(s):len(s)] }

func shareRuns(in []TargetRun) []TargetRun {
	if in == nil {
		return nil
	}
	runs := make([]TargetRun, len(in))
	for j, run := range in {
		run.Samples, run.Client, run.Load = capped(run.Samples), capped(run.Client), capped(run.Load)
		run.Heap, run.Purges = capped(run.Heap), capped(run.Purges)
		run.Peaks = cloneMap(run.Peaks)
		run.Cgroup = clonePtr(run.Cgroup)
		run.Exit = clonePtr(run.Exit)
		run.Result = clonePtr(run.Result)
		// A cycle's ends are stamped in place; its peak is replaced, never written through.
		run.Cycles = slices.Clone(run.Cycles)
		runs[j] = run
	}
	return runs
}
