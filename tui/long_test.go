package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

// longRecord is span at 1 s samples, one lane flat at 100 MiB but for a single-sample
// spike to 400 MiB at spike.
func longRecord(span, spike time.Duration) *record.Record {
	var run record.TargetRun
	for t := time.Second; t <= span; t += time.Second {
		v := uint64(100 << 20)
		if t == spike {
			v = 400 << 20
		}
		run.Samples = append(run.Samples, record.Sample{T: t, RSSBytes: v})
	}
	run.Phases = record.Phases{LoadStart: time.Second, LoadEnd: span / 2, CooldownEnd: span}
	return &record.Record{Schema: record.SchemaVersion, State: record.StateDone, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Plan: record.Plan{Scenario: "alloc", Interval: time.Second, Runs: 1}, Ended: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(span),
		Targets: []record.Target{{Name: "system", Allocator: "system", Kind: record.KindBuiltin, Runs: []record.TargetRun{run}}}}
}

func TestLongChartsNameTheirUnitAndKeepSpikes(t *testing.T) {
	for _, c := range []struct {
		span time.Duration
		unit string
	}{
		{3 * time.Hour, " min"},
		{24 * time.Hour, " h"},
	} {
		m := Replay(longRecord(c.span, c.span/3+17*time.Second))
		g := m.graph(80, 20)
		lines := strings.Split(g.view, "\n")
		axis := strings.TrimRight(lines[len(lines)-1], " ")
		if !strings.HasSuffix(axis, c.unit) || !strings.HasPrefix(strings.TrimSpace(axis), "0 ") {
			t.Errorf("%v: the time axis reads %q; want it to start at 0 and end in%s", c.span, axis, c.unit)
		}
		// The spike is one sample in thousands: only an envelope keeps it, as a bar that
		// reaches the top rows (right of the y axis, which is drawn with the same rune).
		plotted := func(row int) string { return string([]rune(lines[row])[g.origin:]) }
		if !strings.Contains(plotted(1)+plotted(2), "│") {
			t.Errorf("%v: the one-sample spike is gone:\n%s", c.span, strings.Join(lines, "\n"))
		}
	}
}

func TestACycledRunsSummaryShowsGrowthAndRelease(t *testing.T) {
	rec := longRecord(time.Hour, 0)
	run := &rec.Targets[0].Runs[0]
	// Four cycles of 10 min load and 5 min idle, the lane resting 10 MiB higher after each.
	for k := 0; k < 4; k++ {
		start := time.Duration(k)*15*time.Minute + time.Second
		run.Cycles = append(run.Cycles, record.Cycle{Index: k + 1, LoadStart: start, LoadEnd: start + 10*time.Minute, IdleEnd: start + 15*time.Minute})
	}
	for i := range run.Samples {
		k := int((run.Samples[i].T - time.Second) / (15 * time.Minute))
		run.Samples[i].RSSBytes = uint64(100+10*k) << 20
		if c := run.Cycles[min(k, 3)]; run.Samples[i].T >= c.LoadEnd {
			run.Samples[i].RSSBytes += 10 << 20
		}
	}
	m := Replay(rec)
	m.width, m.height = 160, 40
	v := m.summary()
	for _, want := range []string{"Growth", "+40.0 MiB/h", "Half back", "kept", "After 4 cycles of 10 min load and 5 min idle, system kept growing"} {
		if !strings.Contains(v, want) {
			t.Errorf("the summary of a cycled run lacks %q:\n%s", want, v)
		}
	}
}
