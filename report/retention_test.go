package report

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
	"gonum.org/v1/plot"
)

// synthLane is a lane of a synthetic cycled record: it rests at base MiB plus leak MiB
// a cycle, the load adds gain MiB, and it gives the gain back with time constant decay
// (0: it keeps it for the idle).
type synthLane struct {
	name             string
	base, leak, gain float64
	decay            time.Duration
}

// cycledRecord builds a record of cycles of load and idle, sampled every step.
func cycledRecord(lanes []synthLane, cycles int, load, idle, step time.Duration) *record.Record {
	r := &record.Record{Schema: record.SchemaVersion, State: record.StateDone, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Plan: record.Plan{Scenario: "alloc", Duration: load, Cooldown: idle, Interval: step, Runs: 1}}
	for _, l := range lanes {
		r.Plan.Allocators = append(r.Plan.Allocators, l.name)
		var run record.TargetRun
		t := step
		for k := 0; k < cycles; k++ {
			c := record.Cycle{Index: k + 1, LoadStart: t, LoadEnd: t + load, IdleEnd: t + load + idle}
			run.Cycles = append(run.Cycles, c)
			rest := l.base + l.leak*float64(k)
			for ; t <= c.IdleEnd; t += step {
				v := rest + l.gain
				if t >= c.LoadEnd {
					v = rest + l.leak
					if l.decay > 0 {
						v += l.gain * math.Exp(-float64(t-c.LoadEnd)/float64(l.decay))
					} else {
						v += l.gain
					}
				}
				b := uint64(v * (1 << 20))
				run.Samples = append(run.Samples, record.Sample{T: t, RSSBytes: b, VSZBytes: 4 * b, PSSBytes: b, LazyFreeBytes: b / 10})
			}
		}
		run.Phases = record.Phases{LoadStart: run.Cycles[0].LoadStart, LoadEnd: run.Cycles[cycles-1].LoadEnd, CooldownEnd: run.Cycles[cycles-1].IdleEnd}
		r.Targets = append(r.Targets, record.Target{Name: l.name, Allocator: l.name, Kind: record.KindBuiltin, Runs: []record.TargetRun{run}})
	}
	r.Ended = r.Started.Add(run0End(r))
	return r
}

func run0End(r *record.Record) time.Duration {
	s := r.Targets[0].Runs[0].Samples
	return s[len(s)-1].T
}

func TestRetentionSectionAndLeadSentence(t *testing.T) {
	lanes := []synthLane{
		{name: "system", base: 100, leak: 5, gain: 40},
		{name: "jemalloc", base: 100, gain: 40, decay: 2 * time.Second},
		{name: "mimalloc", base: 100, gain: 40, decay: time.Second},
	}
	r := cycledRecord(lanes, 6, time.Minute, time.Minute, time.Second)
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"### Retention over cycles",
		"- After 6 cycles of 60 s load and 60 s idle, system kept growing +149 MiB/h (149–149); jemalloc and mimalloc levelled off. jemalloc gave back half of its load memory in 2.0 s, mimalloc in 1.0 s; system did not within the 60 s idle.",
		"| system | 6 | +149 MiB/h (149–149) |",
		"| jemalloc | 6 | ",
		"levelled off after cycle 1",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	var csv bytes.Buffer
	if err := CSV(&csv, r); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(csv.String(), "\n"); !strings.HasSuffix(lines[1], ",1,14336,") {
		t.Errorf("the first sample's row %q: want cycle 1 and its LazyFree", lines[1])
	}

	one := cycledRecord(lanes, 1, time.Minute, time.Minute, time.Second)
	b.Reset()
	if err := Markdown(&b, one); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "Retention over cycles") || strings.Contains(b.String(), "After 1 cycles") {
		t.Errorf("a record of one cycle has a retention section:\n%s", b.String())
	}
}

// Three short cycles creeping 0.1 MiB each over a few seconds fit a steep slope with a
// narrow interval, but the RSS moved less than the band a level RSS may move in: no
// "kept growing", a release sentence that reads, and no Retained / live over a few KiB.
func TestGrowthInsideTheBandIsNoTrend(t *testing.T) {
	lanes := []synthLane{{name: "system", base: 3, leak: 0.05, gain: 0.2}, {name: "jemalloc", base: 5.7, leak: 0.1, gain: 0.2}}
	r := cycledRecord(lanes, 3, 2*time.Second, 2*time.Second, time.Second)
	for i := range r.Targets {
		run := &r.Targets[i].Runs[0]
		for _, c := range run.Cycles {
			committed, live := uint64(5<<20), uint64(100<<10)
			run.Heap = append(run.Heap, record.HeapStats{T: c.IdleEnd, CommittedBytes: &committed, LiveBytes: live})
		}
	}
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, bad := range []string{"kept growing", "and jemalloc kept it", " 50.00 ", " 51.20 "} {
		if strings.Contains(md, bad) {
			t.Errorf("the report says %q:\n%s", bad, md)
		}
	}
	for _, want := range []string{"system and jemalloc showed no clear trend.", "Neither system nor jemalloc gave back half of its load memory within the 2 s idle.", "within the 1 MiB band", "n/a where it held under 1 MiB live"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

func TestTheChartMarksEachCycle(t *testing.T) {
	r := cycledRecord([]synthLane{{name: "system", base: 100, leak: 5, gain: 40}, {name: "jemalloc", base: 100, gain: 40, decay: 2 * time.Second}},
		6, time.Minute, time.Minute, time.Second)
	var b bytes.Buffer
	if err := Chart(&b, r, ChartOptions{Format: "svg"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cycle 1", "cycle 6", "minutes since start"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the chart of 6 cycles lacks %q", want)
		}
	}
	if n, err := shadeLoadPhases(plot.New(), r, 1); err != nil || n != 6 {
		t.Errorf("%d load bands (%v); want one per cycle, 6", n, err)
	}
	if os.Getenv("HOURS_PNG") != "" {
		f, _ := os.Create(os.Getenv("HOURS_PNG"))
		Chart(f, r, ChartOptions{Format: "png"})
		f.Close()
	}
}

func TestCycleLabelSaysWhereTheCyclesAre(t *testing.T) {
	run := record.TargetRun{Cycles: []record.Cycle{{Index: 1, LoadStart: time.Minute}, {Index: 2, LoadStart: 3 * time.Minute}}}
	r := &record.Record{Plan: record.Plan{Cycles: 5}, Targets: []record.Target{{Name: "a", Runs: []record.TargetRun{run}}}}
	for _, c := range []struct {
		now  time.Duration
		soak time.Duration
		want string
	}{
		{now: 30 * time.Second, want: ""},
		{now: 2 * time.Minute, want: "cycle 1/5"},
		{now: 4 * time.Minute, want: "cycle 2/5"},
		{now: 13 * time.Minute, soak: time.Hour, want: "cycle 2, soak 12 min/60 min"},
	} {
		r.Plan.Soak = c.soak
		if got := CycleLabel(r, c.now); got != c.want {
			t.Errorf("at %s: %q, want %q", c.now, got, c.want)
		}
	}
	if got, want := PlannedCycles(record.Plan{Soak: time.Hour, Duration: 40 * time.Second, Idle: 20 * time.Second}), 60; got != want {
		t.Errorf("PlannedCycles of an hour's soak in minutes: %d, want %d", got, want)
	}
}

// A cycled run's Load test section says the command is each cycle's, with the idle asked
// for; the lead sentence names the load as asked where the measured one ran longer.
func TestTheLoadSectionOfACycledRunNamesItsCycles(t *testing.T) {
	lanes := []synthLane{{name: "system", base: 100, gain: 40, decay: time.Second}}
	r := cycledRecord(lanes, 3, 13*time.Second, 2*time.Second, time.Second)
	r.Plan.Cycles, r.Plan.Idle, r.Plan.Duration, r.Plan.Cooldown, r.Plan.Baseline = 3, 2*time.Second, 10*time.Second, time.Second, time.Second
	r.Plan.LoadCommand = "allocscope load -c 20 -d 10 'http://127.0.0.1:PORT/'"
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"Each cycle's load, 3 cycles with 2s idle after each:", "1s idle before the first load and 2s after each",
		"After 3 cycles of -d 10s load (13 s measured, the workers' start included) and 2 s idle"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(md, "idle before the load and 1s after it") {
		t.Errorf("the Load test section describes one load:\n%s", md)
	}
}
