package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/allocscope/allocscope/internal/rawio"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// A running record is saved as a header and a journal, so that each autosave writes
// what is new rather than the whole record again: the header is the record at its path
// with its series left out (rewritten only when it changed, and of a size that does not
// grow with the run), and the journal beside it holds the series, one JSON line per
// autosave with what each of them gained since the last. Load reads the two back as one
// record, a torn last line left out, so a run killed with -9 loses only its last
// seconds. At the end of the run the record is saved whole and the journal removed:
// every finished record is one JSON file, as before.

// JournalRef names the journal that holds a running record's series.
type JournalRef struct {
	// File is the journal's name, in the record's directory.
	File string `json:"file"`
	// Generation is the journal's first line's: a journal of another generation (left by
	// an autosave that a kill cut short) is not this header's.
	Generation int `json:"generation"`
}

// journalLine is one autosave's worth of series.
type journalLine struct {
	Generation int          `json:"generation,omitempty"`
	Runs       []journalRun `json:"runs,omitempty"`
	Events     []Event      `json:"events,omitempty"`
	CPU        []CPUShare   `json:"cpu,omitempty"`
}

// journalRun is what one target's run gained.
type journalRun struct {
	Target int  `json:"target"`
	Run    int  `json:"run"`
	Fit    bool `json:"fit,omitempty"`
	// Cycles replace the run's cycles of the same index, or are appended: a cycle's ends
	// and peak come in after it began.
	Cycles  []Cycle     `json:"cycles,omitempty"`
	Samples []Sample    `json:"samples,omitempty"`
	Client  []Sample    `json:"client,omitempty"`
	Load    []LoadTick  `json:"load,omitempty"`
	Heap    []HeapStats `json:"heap,omitempty"`
	Purges  []Purge     `json:"purges,omitempty"`
}

// seenSeries is how much of one series the journal holds, and how memory stands to it.
type seenSeries struct {
	// written counts the entries the journal holds; removed, those of them Thin dropped
	// from memory. Counting what was written, not the length in memory, lets Thin shorten
	// a series without the journal writing an entry twice or taking it for a new run.
	written, removed int
	// older counts the entries at the front of the series in memory that Thin thins.
	older int
}

// next is the index in memory of the series' first entry the journal does not hold.
func (s seenSeries) next() int { return s.written - s.removed }

// seenRun is how much of a run's series the journal holds.
type seenRun struct {
	samples, client, load, heap, purges seenSeries
	// cycles counts the leading cycles journalled after they ended: the later ones are
	// written again each time, as they are still being stamped.
	cycles int
}

// Journal saves a running record as a header and a journal of its series. Its memory is
// a few counters per run, whatever the length of the run.
type Journal struct {
	path string
	gen  int
	file *os.File
	// size is the file's length through its last whole line; onDisk is the generation
	// the header on disk names and its length so: what a new generation carries over.
	size   int64
	onDisk struct {
		gen  int
		size int64
	}
	seen   map[[3]int]*seenRun
	events int
	cpu    seenSeries
	header []byte
	// thinned: Thin dropped entries from memory, which only the journal now holds.
	thinned bool
}

// NewJournal saves a running record at path (and path's journal) from the first Write on.
func NewJournal(path string) *Journal { return &Journal{path: path} }

func (j *Journal) journalName(gen int) string {
	return filepath.Base(j.path) + ".journal." + strconv.Itoa(gen)
}

// Write saves what r gained since the last Write: the new series appended to the
// journal, and the header rewritten if it changed. r must not change meanwhile (a
// snapshot). A record whose series did not only grow (runs moved aside by --fit) starts
// a new journal with all of them.
func (j *Journal) Write(r *Record) error {
	err := j.write(r)
	if err != nil && j.file != nil {
		// A journal that missed a line is not to be trusted: the next Write starts a new
		// generation, and this one stays until a header names that one.
		j.file.Close()
		j.file = nil
	}
	return err
}

func (j *Journal) write(r *Record) error {
	if j.file == nil || !j.onlyGrew(r) {
		return j.restart(r)
	}
	header, err := j.encodeHeader(r)
	if err != nil {
		return err
	}
	// The header first: a journal line naming a run the header does not have yet would
	// be lost, a header run with its series still to come is only short.
	if !bytes.Equal(header, j.header) {
		if err := WriteFileAtomic(j.path, header); err != nil {
			return err
		}
		j.header = header
	}
	if err := j.appendLine(r); err != nil {
		return err
	}
	j.onDisk.size = j.size
	return nil
}

// restart writes a new journal generation holding all of r's series, then the header
// naming it, then removes the old one: a kill at any point leaves a header and the
// journal of its generation. Once Thin dropped entries from memory, the new generation
// starts with the old one's lines, which hold them, rather than with memory's series.
func (j *Journal) restart(r *Record) error {
	carry := j.thinned && j.onDisk.gen > 0
	if carry && !j.onlyGrew(r) {
		return fmt.Errorf("the run record's runs moved after its series were thinned in memory; its journal %s keeps them", j.journalName(j.onDisk.gen))
	}
	if j.file != nil {
		j.file.Close()
		j.file = nil
	}
	// A generation that failed before a header named it is written again.
	old := j.onDisk
	j.gen = old.gen + 1
	if !carry {
		j.seen, j.events, j.cpu = map[[3]int]*seenRun{}, 0, seenSeries{}
	}
	name := filepath.Join(filepath.Dir(j.path), j.journalName(j.gen))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", name, err)
	}
	j.file = f
	first, _ := json.Marshal(journalLine{Generation: j.gen})
	if _, err := f.Write(append(first, '\n')); err != nil {
		return fmt.Errorf("cannot write %s: %w", name, err)
	}
	j.size = int64(len(first) + 1)
	if carry {
		if err := j.carry(old.gen, old.size); err != nil {
			return err
		}
	}
	if err := j.appendLine(r); err != nil {
		return err
	}
	header, err := j.encodeHeader(r)
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(j.path, header); err != nil {
		return err
	}
	j.header = header
	j.onDisk.gen, j.onDisk.size = j.gen, j.size
	if old.gen > 0 {
		os.Remove(filepath.Join(filepath.Dir(j.path), j.journalName(old.gen)))
	}
	return nil
}

// carry copies the lines of generation gen, through its whole lines' size, after the
// new generation's first line.
func (j *Journal) carry(gen int, size int64) error {
	name := filepath.Join(filepath.Dir(j.path), j.journalName(gen))
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", name, err)
	}
	defer f.Close()
	rd := bufio.NewReader(io.LimitReader(f, size))
	if _, err := rd.ReadBytes('\n'); err != nil {
		return fmt.Errorf("cannot read %s: %w", name, err)
	}
	n, err := io.Copy(j.file, rd)
	if err != nil {
		return fmt.Errorf("cannot copy %s: %w", name, err)
	}
	j.size += n
	return nil
}

// runOf is the run of r that key k names, nil where r has none.
func runOf(r *Record, k [3]int) *TargetRun {
	if k[0] >= len(r.Targets) {
		return nil
	}
	runs := r.Targets[k[0]].Runs
	if k[2] == 1 {
		runs = r.Targets[k[0]].FitTrials
	}
	if k[1] >= len(runs) {
		return nil
	}
	return &runs[k[1]]
}

// onlyGrew says whether every series of r still holds what the journal has of it.
func (j *Journal) onlyGrew(r *Record) bool {
	if len(r.Events) < j.events || (r.Interference != nil && len(r.Interference.Series) < j.cpu.next()) {
		return false
	}
	for k, s := range j.seen {
		run := runOf(r, k)
		if run == nil {
			return false
		}
		if len(run.Samples) < s.samples.next() || len(run.Client) < s.client.next() || len(run.Load) < s.load.next() ||
			len(run.Heap) < s.heap.next() || len(run.Purges) < s.purges.next() || len(run.Cycles) < s.cycles {
			return false
		}
	}
	return true
}

// appendLine appends one line of what r's series gained, if they gained anything; the
// counters move only once the line is written.
func (j *Journal) appendLine(r *Record) error {
	var line journalLine
	var commit []func()
	for t := range r.Targets {
		for fit, runs := range [][]TargetRun{r.Targets[t].Runs, r.Targets[t].FitTrials} {
			for i := range runs {
				if jr, done, ok := j.gained(t, i, fit == 1, &runs[i]); ok {
					line.Runs = append(line.Runs, jr)
					commit = append(commit, done)
				}
			}
		}
	}
	line.Events = r.Events[j.events:]
	var cpu []CPUShare
	if in := r.Interference; in != nil {
		cpu = in.Series
		line.CPU = cpu[j.cpu.next():]
	}
	if len(line.Runs) == 0 && len(line.Events) == 0 && len(line.CPU) == 0 {
		return nil
	}
	data, err := json.Marshal(line)
	if err != nil {
		return err
	}
	// One write of a whole line: a kill leaves at most this line torn, which Load skips.
	// A raw write (the page cache takes it at once): one the scheduler knows of would wake
	// Go's sysmon every few beats of a run (see internal/rawio).
	if _, err := rawio.WriteAll(int(j.file.Fd()), append(data, '\n')); err != nil {
		return fmt.Errorf("cannot write %s: %w", j.file.Name(), err)
	}
	j.size += int64(len(data) + 1)
	for _, done := range commit {
		done()
	}
	j.events = len(r.Events)
	j.cpu.written += len(line.CPU)
	return nil
}

// gained is what run (key t, i, fit) gained since the journal last wrote it, and done
// moves the counters past it.
func (j *Journal) gained(t, i int, fit bool, run *TargetRun) (jr journalRun, done func(), ok bool) {
	key := [3]int{t, i, 0}
	if fit {
		key[2] = 1
	}
	s := j.seen[key]
	if s == nil {
		s = &seenRun{}
		j.seen[key] = s
	}
	jr = journalRun{Target: t, Run: i, Fit: fit,
		Samples: run.Samples[s.samples.next():], Client: run.Client[s.client.next():], Load: run.Load[s.load.next():],
		Heap: run.Heap[s.heap.next():], Purges: run.Purges[s.purges.next():], Cycles: run.Cycles[s.cycles:]}
	done = func() {
		s.samples.written += len(jr.Samples)
		s.client.written += len(jr.Client)
		s.load.written += len(jr.Load)
		s.heap.written += len(jr.Heap)
		s.purges.written += len(jr.Purges)
		for s.cycles < len(run.Cycles) && run.Cycles[s.cycles].IdleEnd > 0 {
			s.cycles++
		}
	}
	ok = len(jr.Samples)+len(jr.Client)+len(jr.Load)+len(jr.Heap)+len(jr.Purges)+len(jr.Cycles) > 0
	return jr, done, ok
}

// Thin thins r's series in memory where the journal holds them (see KeepWhole). r is
// the record the journal's last Write was a snapshot of, grown since but not
// rearranged; where it was (runs moved aside), Thin leaves it.
func (j *Journal) Thin(r *Record) {
	if j.file == nil || !j.onlyGrew(r) {
		return
	}
	for k, s := range j.seen {
		run := runOf(r, k)
		run.Samples = thinSeries(run.Samples, &s.samples, halveSamples)
		run.Client = thinSeries(run.Client, &s.client, halveSamples)
		run.Load = thinSeries(run.Load, &s.load, halveTicks)
		run.Heap = thinSeries(run.Heap, &s.heap, halveEvery[HeapStats])
		j.thinned = j.thinned || s.samples.removed+s.client.removed+s.load.removed+s.heap.removed > 0
	}
	if in := r.Interference; in != nil {
		in.Series = thinSeries(in.Series, &j.cpu, halveEvery[CPUShare])
		j.thinned = j.thinned || j.cpu.removed > 0
	}
}

// Thinned says whether Thin dropped entries that only the journal now holds: the whole
// record is then Whole's, not memory's.
func (j *Journal) Thinned() bool { return j.thinned }

// Whole is r with its series whole again: what the journal holds of each (disk, the
// record Load read from the journal's path after its last Write) followed by what r
// gained since. Everything else is r's. r must be laid out as at that Write.
func (j *Journal) Whole(r, disk *Record) (*Record, error) {
	if !j.onlyGrew(r) || len(disk.Targets) != len(r.Targets) {
		return nil, fmt.Errorf("the run record in memory no longer matches its journal %s", j.journalName(j.onDisk.gen))
	}
	w := r.Share()
	for k, s := range j.seen {
		run, from := runOf(w, k), runOf(disk, k)
		if from == nil {
			return nil, fmt.Errorf("the run record's journal %s lacks run %d of %s", j.journalName(j.onDisk.gen), k[1]+1, r.Targets[k[0]].Name)
		}
		ok := true
		run.Samples = wholeSeries(from.Samples, run.Samples, s.samples, &ok)
		run.Client = wholeSeries(from.Client, run.Client, s.client, &ok)
		run.Load = wholeSeries(from.Load, run.Load, s.load, &ok)
		run.Heap = wholeSeries(from.Heap, run.Heap, s.heap, &ok)
		run.Purges = wholeSeries(from.Purges, run.Purges, s.purges, &ok)
		if !ok {
			return nil, fmt.Errorf("the run record's journal %s holds less of run %d of %s than was written to it", j.journalName(j.onDisk.gen), k[1]+1, r.Targets[k[0]].Name)
		}
	}
	if in := w.Interference; in != nil {
		var series []CPUShare
		if disk.Interference != nil {
			series = disk.Interference.Series
		}
		ok := true
		if in.Series = wholeSeries(series, in.Series, j.cpu, &ok); !ok {
			return nil, fmt.Errorf("the run record's journal %s holds less of the CPU shares than was written to it", j.journalName(j.onDisk.gen))
		}
	}
	return w, nil
}

// wholeSeries is the journal's entries of a series, then memory's it does not hold;
// ok turns false where the journal has not all it wrote.
func wholeSeries[E any](disk, mem []E, s seenSeries, ok *bool) []E {
	if len(disk) != s.written {
		*ok = false
		return mem
	}
	out := make([]E, 0, len(disk)+len(mem)-s.next())
	return append(append(out, disk...), mem[s.next():]...)
}

// encodeHeader is r without its series, naming the journal.
func (j *Journal) encodeHeader(r *Record) ([]byte, error) {
	h := *r
	h.Journal = &JournalRef{File: j.journalName(j.gen), Generation: j.gen}
	h.Events = nil
	if r.Interference != nil {
		in := *r.Interference
		in.Series = nil
		h.Interference = &in
	}
	h.Targets = make([]Target, len(r.Targets))
	for t, tg := range r.Targets {
		tg.Runs, tg.FitTrials = headerRuns(tg.Runs), headerRuns(tg.FitTrials)
		h.Targets[t] = tg
	}
	var buf bytes.Buffer
	if err := Encode(&buf, &h); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func headerRuns(in []TargetRun) []TargetRun {
	if in == nil {
		return nil
	}
	out := make([]TargetRun, len(in))
	for i, run := range in {
		run.Samples, run.Client, run.Load, run.Heap, run.Purges, run.Cycles = nil, nil, nil, nil, nil, nil
		out[i] = run
	}
	return out
}

// Close ends the journal and removes it: call it once the whole record is saved.
func (j *Journal) Close() {
	if j.file == nil {
		return
	}
	j.file.Close()
	os.Remove(j.file.Name())
	j.file = nil
}

// readJournal adds the series of r's journal (in dir) to r. A line that does not parse
// ends the reading: only the last can be torn, by a kill mid-write.
func readJournal(r *Record, dir string) error {
	ref := r.Journal
	r.Journal = nil
	f, err := os.Open(filepath.Join(dir, filepath.Base(ref.File)))
	if err != nil {
		return fmt.Errorf("the run record's series are in its journal %s, which cannot be read: %w", ref.File, err)
	}
	defer f.Close()
	rd := bufio.NewReaderSize(f, 1<<20)
	first := true
	for {
		data, err := rd.ReadBytes('\n')
		if len(data) > 0 && data[len(data)-1] == '\n' {
			var line journalLine
			if json.Unmarshal(data, &line) != nil {
				return nil
			}
			if first {
				if line.Generation != ref.Generation {
					return fmt.Errorf("the run record's journal %s is of generation %d, not the record's %d: it was left by another save", ref.File, line.Generation, ref.Generation)
				}
				first = false
				continue
			}
			line.applyTo(r)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (l journalLine) applyTo(r *Record) {
	r.Events = append(r.Events, l.Events...)
	if len(l.CPU) > 0 {
		if r.Interference == nil {
			r.Interference = &Interference{}
		}
		r.Interference.Series = append(r.Interference.Series, l.CPU...)
	}
	for _, jr := range l.Runs {
		if jr.Target < 0 || jr.Target >= len(r.Targets) {
			continue
		}
		runs := r.Targets[jr.Target].Runs
		if jr.Fit {
			runs = r.Targets[jr.Target].FitTrials
		}
		if jr.Run < 0 || jr.Run >= len(runs) {
			continue
		}
		run := &runs[jr.Run]
		run.Samples = append(run.Samples, jr.Samples...)
		run.Client = append(run.Client, jr.Client...)
		run.Load = append(run.Load, jr.Load...)
		run.Heap = append(run.Heap, jr.Heap...)
		run.Purges = append(run.Purges, jr.Purges...)
		for _, c := range jr.Cycles {
			if k := len(run.Cycles) - 1; k >= 0 && run.Cycles[k].Index >= c.Index {
				for k >= 0 && run.Cycles[k].Index != c.Index {
					k--
				}
				if k >= 0 {
					run.Cycles[k] = c
				}
				continue
			}
			run.Cycles = append(run.Cycles, c)
		}
	}
}
