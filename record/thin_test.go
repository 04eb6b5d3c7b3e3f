package record

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// soakBeat grows r by beat n as a soak's heartbeat does: per lane a sample, a client
// sample, a load tick and a heap reading with its raw map; a CPU share; a cycle of 30
// beats (20 of load, 10 idle) whose ends are stamped as they come; an event a cycle.
// The same n gives the same entries, so two records grown alike are equal.
func soakBeat(r *Record, n int) {
	t := time.Duration(n) * time.Second
	k := (n - 1) / 30
	for i := range r.Targets {
		run := &r.Targets[i].Runs[0]
		rss := uint64(64<<20 + (n*7919+i*104729)%4096<<10)
		run.Samples = append(run.Samples, Sample{T: t, RSSBytes: rss, PeakRSSBytes: rss + 4096, VSZBytes: 1 << 30, Threads: 4})
		run.Client = append(run.Client, Sample{T: t, RSSBytes: uint64(8<<20 + n%97<<10)})
		run.Load = append(run.Load, LoadTick{T: t, Requests: uint64(200 + n%13), Errors: uint64(n % 5 / 4), Non2xx: uint64(n % 7 / 6)})
		live := uint64(n) << 10
		run.Heap = append(run.Heap, HeapStats{T: t, AllocatedBytes: &live, LiveBytes: live, Requests: uint64(n),
			Version: "jemalloc 5.3.0", Raw: map[string]uint64{"stats.allocated": live, "stats.resident": live * 2, "arenas." + strconv.Itoa(n%4): 1}})
		switch (n - 1) % 30 {
		case 0:
			run.Cycles = append(run.Cycles, Cycle{Index: k + 1, LoadStart: t})
			if k == 0 {
				run.Phases.LoadStart = t
			}
		case 20:
			run.Cycles[k].LoadEnd, run.Phases.LoadEnd = t, t
		case 29:
			run.Cycles[k].IdleEnd, run.Cycles[k].Peak = t, &PeakRSS{Bytes: rss, Source: PeakKernel}
		}
	}
	if (n-1)%30 == 0 {
		r.Events = append(r.Events, Event{T: t, Kind: EventCycle, Message: "cycle " + strconv.Itoa(k+1)})
	}
	r.Interference.Append(r, CPUShare{T: t, OtherPct: float64(n % 11), ServersPct: 40})
}

func newSoakRecord() *Record {
	return &Record{Schema: SchemaVersion, Tool: Tool{Version: "test"}, State: StateRunning, Plan: Plan{Interval: time.Second, Cycles: 1000},
		Targets: []Target{
			{Name: "system", Runs: []TargetRun{{PID: 1, Peaks: map[Phase]PeakRSS{PhaseBaseline: {Bytes: 1 << 20, Source: PeakKernel}}}}},
			{Name: "jemalloc", Runs: []TargetRun{{PID: 2}}}},
		Interference: &Interference{}}
}

// seriesLen is the longest series of r in memory.
func seriesLen(r *Record) int {
	n := len(r.Interference.Series)
	for _, tg := range r.Targets {
		for _, run := range tg.Runs {
			n = max(n, len(run.Samples), len(run.Client), len(run.Load), len(run.Heap))
		}
	}
	return n
}

func TestThinnedJournalKeepsEveryEntryOnDiskAndFewInMemory(t *testing.T) {
	const beats, every = 6000, 3
	path := filepath.Join(t.TempDir(), "run.json")
	live, full := newSoakRecord(), newSoakRecord()
	j := NewJournal(path)
	for n := 1; n <= beats; n++ {
		soakBeat(live, n)
		soakBeat(full, n)
		if n%every != 0 {
			continue
		}
		snap := live.Share()
		var before []byte
		if n%(50*every) == 0 {
			before, _ = json.Marshal(snap)
		}
		if err := j.Write(snap); err != nil {
			t.Fatal(err)
		}
		j.Thin(live)
		// Readers keep snapshots taken before: Thin must not have written into them.
		if before != nil {
			if after, _ := json.Marshal(snap); string(after) != string(before) {
				t.Fatalf("beat %d: Thin changed a snapshot taken before it", n)
			}
		}
		if got, bound := seriesLen(live), KeepWhole+KeepThinned+every; got > bound {
			t.Fatalf("beat %d: a series in memory holds %d entries, over %d", n, got, bound)
		}
		// A kill -9 now leaves header and journal: every entry written so far.
		if n%1500 == 0 {
			loadsAs(t, path, full)
		}
	}
	if !j.Thinned() {
		t.Fatalf("%d beats were not thinned", beats)
	}
	// The live record keeps its peaks: the thinned samples' envelope holds the highest.
	for i, tg := range live.Targets {
		if got, want := maxRSS(tg.Runs[0].Samples), maxRSS(full.Targets[i].Runs[0].Samples); got != want {
			t.Errorf("%s: thinned samples peak at %d, the whole at %d", tg.Name, got, want)
		}
		if got, want := loadErrors(tg.Runs[0].Load), loadErrors(full.Targets[i].Runs[0].Load); got != want {
			t.Errorf("%s: thinned load ticks count %d errors, the whole %d", tg.Name, got, want)
		}
	}

	// The run's end: more beats since the last Write, then the last Write and Whole.
	for n := beats + 1; n <= beats+2; n++ {
		soakBeat(live, n)
		soakBeat(full, n)
	}
	live.State, full.State = StateDone, StateDone
	if err := j.Write(live.Share()); err != nil {
		t.Fatal(err)
	}
	soakBeat(live, beats+3)
	soakBeat(full, beats+3)
	disk, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := j.Whole(live, disk)
	if err != nil {
		t.Fatal(err)
	}
	whole.Interference.Summarize(whole)
	full.Interference.Summarize(full)
	sameRecord(t, whole, full)
}

func maxRSS(ss []Sample) (top uint64) {
	for _, s := range ss {
		top = max(top, s.RSSBytes)
	}
	return top
}

func loadErrors(ts []LoadTick) (n uint64) {
	for _, l := range ts {
		n += l.Errors + l.Non2xx
	}
	return n
}

func TestAJournalThatFailedAfterThinningStartsAgainWithItsOldLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	live, full := newSoakRecord(), newSoakRecord()
	j := NewJournal(path)
	n := 0
	grow := func(beats int) {
		for k := 0; k < beats; k++ {
			n++
			soakBeat(live, n)
			soakBeat(full, n)
			if n%3 == 0 {
				if err := j.Write(live.Share()); err != nil {
					t.Fatal(err)
				}
				j.Thin(live)
			}
		}
	}
	grow(3000)
	if !j.Thinned() {
		t.Fatal("not thinned")
	}
	// A write that fails (here, its file gone under it) leaves the journal to start a
	// new generation, which memory alone can no longer fill.
	j.file.Close()
	soakBeat(live, n+1)
	soakBeat(full, n+1)
	n++
	if err := j.Write(live.Share()); err == nil {
		t.Fatal("a write to a closed journal worked")
	}
	grow(299) // to a Write
	loadsAs(t, path, full)
	if _, err := os.Stat(filepath.Join(dir, "run.json.journal.1")); !os.IsNotExist(err) {
		t.Errorf("the failed generation's journal outlived the next: %v", err)
	}
}

func TestAShortRunIsNotThinned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	live, full := newSoakRecord(), newSoakRecord()
	j := NewJournal(path)
	for n := 1; n <= KeepWhole; n++ {
		soakBeat(live, n)
		soakBeat(full, n)
		if err := j.Write(live.Share()); err != nil {
			t.Fatal(err)
		}
		j.Thin(live)
	}
	if j.Thinned() {
		t.Error("a run of KeepWhole beats was thinned")
	}
	sameRecord(t, live, full)
}

func TestHalvingKeepsTheEnvelope(t *testing.T) {
	rss := []uint64{5, 9, 1, 7 /**/, 3, 3, 3, 3 /**/, 8, 2}
	var in []Sample
	for i, v := range rss {
		in = append(in, Sample{T: time.Duration(i), RSSBytes: v, PeakRSSBytes: uint64(10 + i)})
	}
	out := halveSamples(in)
	var got []uint64
	for _, s := range out {
		got = append(got, s.RSSBytes)
	}
	// Of 5 9 1 7: the highest, then the lowest, in time order; of 3 3 3 3, the first and
	// the last; of 8 2, both.
	want := []uint64{9, 1, 3, 3, 8, 2}
	if !slicesEqual(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	// The highest VmHWM of each four is kept with its later sample.
	if out[1].PeakRSSBytes != 13 || out[3].PeakRSSBytes != 17 || out[5].PeakRSSBytes != 19 {
		t.Errorf("VmHWM kept: %d %d %d", out[1].PeakRSSBytes, out[3].PeakRSSBytes, out[5].PeakRSSBytes)
	}
	ticks := halveTicks([]LoadTick{{T: 1, Requests: 10, Errors: 1}, {T: 2, Requests: 20, Non2xx: 2}, {T: 3, Errors: 4}})
	if len(ticks) != 2 || ticks[0].T != 2 || ticks[0].Requests != 20 || ticks[0].Errors != 1 || ticks[0].Non2xx != 2 || ticks[1].Errors != 4 {
		t.Errorf("halved ticks %+v", ticks)
	}
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// loadsAs checks that the record at path reads back as full, interference summaries
// worked out on both.
func loadsAs(t *testing.T, path string, full *Record) {
	t.Helper()
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got.Interference.Summarize(got)
	full.Interference.Summarize(full)
	sameRecord(t, got, full)
}
