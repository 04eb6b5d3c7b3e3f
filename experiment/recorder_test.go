package experiment

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

// soak drives a Recorder as a soak's heartbeat does, beat by beat, and keeps what it
// appended in a record of its own (want), which nothing thins.
type soak struct {
	rec  *Recorder
	want *record.Record
	n    int
}

func newSoak(t0 time.Time) *soak {
	mk := func() *record.Record {
		return &record.Record{Schema: record.SchemaVersion, Tool: record.Tool{Version: "test"}, State: record.StateRunning,
			Started: t0, Plan: record.Plan{Interval: time.Second, Cycles: 10000},
			Targets:      []record.Target{{Name: "system", Allocator: "system"}, {Name: "jemalloc", Allocator: "jemalloc"}},
			Interference: &record.Interference{}}
	}
	s := &soak{rec: newRecorder(mk()), want: mk()}
	for i := range s.want.Targets {
		s.rec.StartRun(i, record.TargetRun{PID: 100 + i})
		s.want.Targets[i].Runs = []record.TargetRun{{PID: 100 + i}}
	}
	return s
}

// beat appends one beat to both: per lane a sample, a client sample, a load tick and a
// heap reading with its raw map, the machine's CPU; a cycle every 30 beats, its ends and
// peaks stamped in place, and an event.
func (s *soak) beat() {
	s.n++
	n := s.n
	t := time.Duration(n) * time.Second
	k := (n - 1) / 30
	for i := range s.want.Targets {
		w := &s.want.Targets[i].Runs[0]
		rss := uint64(64<<20 + (n*7919+i*104729)%8192<<10)
		sm := record.Sample{T: t, RSSBytes: rss, PeakRSSBytes: rss, VSZBytes: 1 << 30, Threads: 4, CPUPercent: float64(n % 100)}
		cl := record.Sample{T: t, RSSBytes: uint64(8<<20 + n%97<<10)}
		tick := record.LoadTick{T: t, Requests: uint64(200 + n%13), Errors: uint64(n % 9 / 8), P99: time.Duration(n%50) * time.Millisecond}
		heap := func() record.HeapStats {
			live := uint64(n) << 12
			return record.HeapStats{T: t, AllocatedBytes: &live, LiveBytes: live, Requests: uint64(n), Version: "jemalloc 5.3.0",
				Raw: map[string]uint64{"stats.allocated": live, "stats.resident": 2 * live, "stats.mapped": 3 * live, "arena." + strconv.Itoa(n%8): 1}}
		}
		s.rec.AppendSample(i, 0, sm)
		s.rec.AppendClient(i, 0, cl)
		s.rec.AppendLoad(i, 0, tick)
		s.rec.AppendHeap(i, 0, heap())
		w.Samples, w.Client, w.Load, w.Heap = append(w.Samples, sm), append(w.Client, cl), append(w.Load, tick), append(w.Heap, heap())
		edit := func(f func(*record.TargetRun)) {
			s.rec.EditRun(i, 0, f)
			f(w)
		}
		switch (n - 1) % 30 {
		case 0:
			edit(func(tr *record.TargetRun) {
				tr.Cycles = append(tr.Cycles, record.Cycle{Index: k + 1, LoadStart: t})
				if k == 0 {
					tr.Phases.LoadStart = t
				}
			})
		case 20:
			edit(func(tr *record.TargetRun) { tr.Cycles[k].LoadEnd, tr.Phases.LoadEnd = t, t })
			p := record.PeakRSS{Bytes: rss + uint64(k), Source: record.PeakKernel}
			s.rec.SetPeak(i, 0, record.PhaseLoad, p)
			if old, ok := w.Peaks[record.PhaseLoad]; !ok || old.Bytes < p.Bytes {
				if w.Peaks == nil {
					w.Peaks = map[record.Phase]record.PeakRSS{}
				}
				w.Peaks[record.PhaseLoad] = p
			}
		case 29:
			edit(func(tr *record.TargetRun) {
				tr.Cycles[k].IdleEnd, tr.Cycles[k].Peak = t, &record.PeakRSS{Bytes: rss, Source: record.PeakKernel}
			})
		}
	}
	if (n-1)%30 == 0 {
		ev := record.Event{T: t, Kind: record.EventCycle, Message: fmt.Sprintf("cycle %d", k+1)}
		s.rec.Edit(func(r *record.Record) { r.Events = append(r.Events, ev) })
		s.want.Events = append(s.want.Events, ev)
	}
	cpu := record.CPUShare{T: t, OtherPct: float64(n % 23), ServersPct: 50, GeneratorsPct: 20}
	s.rec.AppendCPU(cpu)
	s.want.Interference.Series = append(s.want.Interference.Series, cpu)
}

// longest is the longest series the Recorder holds in memory.
func (s *soak) longest() int {
	r := s.rec.Snapshot()
	n := len(r.Interference.Series)
	for _, tg := range r.Targets {
		for _, run := range tg.Runs {
			n = max(n, len(run.Samples), len(run.Client), len(run.Load), len(run.Heap))
		}
	}
	return n
}

func sameJSON(t *testing.T, what string, got, want *record.Record) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) == string(w) {
		return
	}
	k := 0
	for k < len(g) && k < len(w) && g[k] == w[k] {
		k++
	}
	t.Fatalf("%s differs from what was appended at byte %d:\n got …%s\nwant …%s", what, k,
		g[max(0, k-200):min(len(g), k+200)], w[max(0, k-200):min(len(w), k+200)])
}

func TestASoaksRecorderStaysBoundedAndItsSavedRecordIsWhole(t *testing.T) {
	const beats, every = 4000, 3
	path := filepath.Join(t.TempDir(), "run.json")
	s := newSoak(time.Now())
	if err := s.rec.Save(path); err != nil {
		t.Fatal(err)
	}
	for s.n < beats {
		s.beat()
		if s.n%every != 0 {
			continue
		}
		s.rec.Autosave(path)
		if err := s.rec.SaveErr(); err != nil {
			t.Fatal(err)
		}
		if got, bound := s.longest(), record.KeepWhole+record.KeepThinned+every; got > bound {
			t.Fatalf("beat %d: the Recorder holds a series of %d entries, over %d", s.n, got, bound)
		}
		// A kill -9 here leaves the header and the journal: every beat so far.
		if s.n%2000 == 0 {
			got, err := record.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			want := *s.want
			want.Interference = &record.Interference{Series: s.want.Interference.Series}
			want.Interference.Summarize(&want)
			got.Interference.Summarize(got)
			sameJSON(t, fmt.Sprintf("the record read back after beat %d", s.n), got, &want)
		}
	}
	// Beats after the last autosave, then the end: the whole record, from every beat.
	s.beat()
	s.beat()
	s.rec.End(record.StateDone, nil)
	if err := s.rec.Save(path); err != nil {
		t.Fatal(err)
	}
	final := s.rec.Snapshot()
	s.want.State, s.want.Ended = final.State, final.Ended
	s.want.Interference.Summarize(s.want)
	if final.Interference.MeanOtherPct == 0 {
		t.Fatal("no interference summary to compare")
	}
	sameJSON(t, "the final snapshot", final, s.want)
	saved, err := record.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Journal != nil {
		t.Errorf("the final record names a journal: %+v", saved.Journal)
	}
	sameJSON(t, "the saved record", saved, s.want)
}

func TestASoaksRecorderDoesNotGrowInMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	s := newSoak(time.Now())
	heapAfter := func(beats int) uint64 {
		for s.n < beats {
			s.beatRecorderOnly()
			if s.n%3 == 0 {
				s.rec.Autosave(path)
			}
		}
		if err := s.rec.SaveErr(); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		// The Recorder is what is measured: it must not be collected before.
		runtime.KeepAlive(s)
		return m.HeapInuse
	}
	const n = 2500
	first := heapAfter(n)
	last := heapAfter(4 * n)
	// Unthinned, the series of 4n beats take four times those of n (some 5 MiB at n):
	// the heap would more than double. Thinned, memory holds as much at 4n as at n.
	if last > 2*first {
		t.Errorf("the heap grew from %d KiB after %d beats to %d KiB after %d", first>>10, n, last>>10, 4*n)
	}
	t.Logf("heap in use: %d KiB after %d beats, %d KiB after %d", first>>10, n, last>>10, 4*n)
}

// beatRecorderOnly is beat, the series of what was appended then dropped: their memory
// is not the Recorder's.
func (s *soak) beatRecorderOnly() {
	s.beat()
	for i := range s.want.Targets {
		w := &s.want.Targets[i].Runs[0]
		w.Samples, w.Client, w.Load, w.Heap = nil, nil, nil, nil
	}
	s.want.Interference.Series, s.want.Events = nil, nil
}
