package record

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// journalled is a running record of two targets, grown beat by beat.
type journalled struct {
	r *Record
	n int
}

func newJournalled() *journalled {
	r := &Record{Schema: SchemaVersion, Tool: Tool{Version: "test"}, State: StateRunning, Plan: Plan{Cycles: 3},
		Targets:      []Target{{Name: "a", Runs: []TargetRun{{PID: 1}}}, {Name: "b", Runs: []TargetRun{{PID: 2}}}},
		Interference: &Interference{}}
	return &journalled{r: r}
}

// beat adds a second of series to every run, and a cycle every 10 seconds.
func (j *journalled) beat() {
	j.n++
	t := time.Duration(j.n) * time.Second
	for i := range j.r.Targets {
		run := &j.r.Targets[i].Runs[0]
		run.Samples = append(run.Samples, Sample{T: t, RSSBytes: uint64(j.n) << 20, LazyFreeBytes: 4096})
		run.Load = append(run.Load, LoadTick{T: t, Requests: 100})
		if j.n%10 == 1 || len(run.Cycles) == 0 {
			run.Cycles = append(run.Cycles, Cycle{Index: len(run.Cycles) + 1, LoadStart: t})
		}
		c := &run.Cycles[len(run.Cycles)-1]
		switch j.n % 10 {
		case 5:
			c.LoadEnd = t
		case 0:
			c.IdleEnd, c.Peak = t, &PeakRSS{Bytes: uint64(j.n) << 20, Source: PeakKernel}
		}
	}
	j.r.Interference.Series = append(j.r.Interference.Series, CPUShare{T: t, OtherPct: 1})
	if j.n%7 == 0 {
		j.r.Events = append(j.r.Events, Event{T: t, Kind: EventWarning, Message: "seven"})
	}
}

func sameRecord(t *testing.T, got, want *Record) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		k := 0
		for k < len(g) && k < len(w) && g[k] == w[k] {
			k++
		}
		t.Fatalf("the record read back differs at byte %d:\n got …%s\nwant …%s", k, g[max(0, k-300):min(len(g), k+200)], w[max(0, k-300):min(len(w), k+200)])
	}
}

func TestJournalReadsBackAsTheWholeRecordAndSurvivesATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	src := newJournalled()
	j := NewJournal(path)
	src.writeBeats(t, j, 25)
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, got, src.r)
	if got.Journal != nil {
		t.Errorf("Load left the journal's name in the record: %+v", got.Journal)
	}

	// A kill mid-write leaves part of a line: the lines before it are the record.
	name := filepath.Join(filepath.Dir(path), "run.json.journal.1")
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"runs":[{"target":0,"run":0,"samples":[{"t_ns":99`)
	f.Close()
	got, err = Load(path)
	if err != nil {
		t.Fatalf("a torn last line: %v", err)
	}
	sameRecord(t, got, src.r)

	// The run's end saves it whole; the journal goes.
	src.r.State = StateDone
	if err := Save(path, src.r); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("the journal is still there after Close: %v", err)
	}
	readsBackAs(t, path, src.r)
}

func TestJournalWritesWhatIsNewNotTheWholeRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	src := newJournalled()
	j := NewJournal(path)
	journal := filepath.Join(filepath.Dir(path), "run.json.journal.1")
	size := func(p string) int64 {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	var firstHeader, firstLine int64
	for k := 0; k < 2000; k++ {
		before := int64(0)
		if k > 0 {
			before = size(journal)
		}
		src.beat()
		if err := j.Write(src.r.Share()); err != nil {
			t.Fatal(err)
		}
		line := size(journal) - before
		switch k {
		case 1:
			firstHeader, firstLine = size(path), line
		case 1999:
			// A beat's line and the header are as large at the 2,000th beat as at the
			// second: neither holds the series so far.
			if line > 2*firstLine {
				t.Errorf("the 2,000th beat appended %d bytes, the 2nd %d", line, firstLine)
			}
			if h := size(path); h > firstHeader+200 {
				t.Errorf("the header grew from %d to %d bytes", firstHeader, h)
			}
		}
	}
	readsBackAs(t, path, src.r)
}

func TestJournalStartsAgainWhenRunsAreMovedAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	src := newJournalled()
	j := NewJournal(path)
	src.writeBeats(t, j, 5)
	// --fit moves a trial's runs aside and starts new ones.
	for i := range src.r.Targets {
		tg := &src.r.Targets[i]
		tg.FitTrials = append(tg.FitTrials, tg.Runs...)
		tg.Runs = []TargetRun{{PID: 10 + i}}
	}
	src.writeBeats(t, j, 3)
	readsBackAs(t, path, src.r)
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "run.json.journal.1")); !os.IsNotExist(err) {
		t.Errorf("the first journal outlived its generation: %v", err)
	}
}

// writeBeats makes n beats of src, each written through j.
func (src *journalled) writeBeats(t *testing.T, j *Journal, n int) {
	t.Helper()
	for k := 0; k < n; k++ {
		src.beat()
		if err := j.Write(src.r.Share()); err != nil {
			t.Fatal(err)
		}
	}
}

// readsBackAs checks that the record at path reads back as want.
func readsBackAs(t *testing.T, path string, want *Record) {
	t.Helper()
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, got, want)
}
