package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/allocscope/allocscope/record"
)

func TestSummarySaysWhyAnIntervalThatExcludesOneWasNotCalled(t *testing.T) {
	// jemalloc's peak RSS is 4% lower in seven runs of eight and a hair higher in one.
	rec := &record.Record{Plan: record.Plan{Runs: 8}, State: record.StateDone, Started: time.Unix(1700000000, 0)}
	for _, lane := range []struct {
		name  string
		ratio []float64
	}{{"system", []float64{1, 1, 1, 1, 1, 1, 1, 1}}, {"jemalloc", []float64{0.96, 0.961, 0.959, 0.96, 0.962, 0.958, 0.96, 1.001}}} {
		tg := record.Target{Name: lane.name, Allocator: lane.name}
		for k, r := range lane.ratio {
			b := uint64((400 + 3*float64(k)) * r * (1 << 20))
			tg.Runs = append(tg.Runs, record.TargetRun{
				Phases:  record.Phases{LoadStart: time.Second, LoadEnd: 2 * time.Second, CooldownEnd: 3 * time.Second},
				Samples: []record.Sample{{T: 1500 * time.Millisecond, RSSBytes: b}},
				Peaks:   map[record.Phase]record.PeakRSS{record.PhaseLoad: {Bytes: b, Source: record.PeakKernel}},
			})
		}
		rec.Targets = append(rec.Targets, tg)
	}
	f := newFake(rec)
	m := Live(func(ctx context.Context) (Source, error) { return f, nil })
	m, _ = step(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
	m, _ = step(t, m, startedMsg{gen: 0, run: f, cancel: func() {}})
	m, _ = step(t, m, doneMsg{gen: 0, rec: rec})
	view := strings.Join(strings.Fields(m.View()), " ")
	if want := "jemalloc 0.97×, 0.95–0.98, but not every run went the same way: 7 of 8"; !strings.Contains(view, want) {
		t.Fatalf("the summary lacks %q:\n%s", want, m.View())
	}
}
