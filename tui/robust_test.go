package tui

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
	tea "github.com/charmbracelet/bubbletea"
)

// runCmds runs cmds and every command they batch, each in its own goroutine (a tick
// sleeps), and returns the messages that arrive within wait.
func runCmds(wait time.Duration, cmds ...tea.Cmd) []tea.Msg {
	var mu sync.Mutex
	var msgs []tea.Msg
	var run func(tea.Cmd)
	run = func(c tea.Cmd) {
		if c == nil {
			return
		}
		go func() {
			msg := c()
			if batch, ok := msg.(tea.BatchMsg); ok {
				for _, b := range batch {
					run(b)
				}
				return
			}
			mu.Lock()
			msgs = append(msgs, msg)
			mu.Unlock()
		}()
	}
	for _, c := range cmds {
		run(c)
	}
	time.Sleep(wait)
	mu.Lock()
	defer mu.Unlock()
	return append([]tea.Msg(nil), msgs...)
}

// Pressing r again and again, at every stage of a run, never has two runs alive.
func TestRepeatedRestartKeepsAtMostOneRunAlive(t *testing.T) {
	var alive, most, started atomic.Int32
	start := func(ctx context.Context) (Source, error) {
		started.Add(1)
		n := alive.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		f := newFake(fixture(t))
		var once sync.Once
		end := func() { once.Do(func() { alive.Add(-1); close(f.done) }) }
		context.AfterFunc(ctx, end)
		time.AfterFunc(60*time.Millisecond, end) // runs also end by themselves
		return f, nil
	}
	m := Live(start)
	m, _ = step(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	var pending []tea.Msg
	pending = append(pending, runCmds(50*time.Millisecond, m.Init())...)
	r := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")}
	for round := 0; round < 30; round++ {
		var cmds []tea.Cmd
		next, cmd := step(t, m, r)
		m, cmds = next, append(cmds, cmd)
		// Deliver what arrived so far (started runs, finished runs) between key presses.
		for _, msg := range pending {
			if _, isTick := msg.(tickMsg); isTick {
				continue
			}
			next, cmd := step(t, m, msg)
			m, cmds = next, append(cmds, cmd)
		}
		pending = runCmds(30*time.Millisecond, cmds...)
	}
	if most.Load() > 1 {
		t.Fatalf("%d runs were alive at once after %d starts", most.Load(), started.Load())
	}
	if started.Load() < 2 {
		t.Fatalf("r never started another run (%d started)", started.Load())
	}
}

func TestEverySizeRendersOrSaysTooSmall(t *testing.T) {
	rec := fixture(t)
	// Values past 10 MiB made ntcharts panic at one column.
	for i := range rec.Targets {
		for j := range rec.Targets[i].Runs[0].Samples {
			rec.Targets[i].Runs[0].Samples[j].RSSBytes *= 100
		}
	}
	for w := 1; w <= 45; w += 2 {
		for h := 1; h <= 16; h++ {
			m := Replay(rec)
			next, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
			view := next.View()
			if (w < minWidth || h < minHeight) && !strings.Contains(view, "too small") && w > 20 {
				t.Fatalf("%d×%d: no 'too small' notice:\n%s", w, h, view)
			}
		}
	}
	summary := newModel()
	summary.mode, summary.run = modeSummary, newFake(rec)
	next, _ := summary.Update(tea.WindowSizeMsg{Width: 1, Height: 1})
	next, _ = next.(Model).Update(doneMsg{rec: rec})
	next.View()
}

func TestAFinishedWatchKeepsItsSummary(t *testing.T) {
	rec := fixture(t)
	f := newFake(rec)
	m := Watch(f)
	m, _ = step(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m, _ = step(t, m, startedMsg{gen: 0, run: f, cancel: func() {}})
	close(f.done)
	m, _ = step(t, m, doneMsg{gen: 0, rec: rec})
	if m.mode != modeSummary {
		t.Fatalf("mode %d after the watch ended, want the summary", m.mode)
	}
	m2, cmd := step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")})
	if cmd != nil || m2.mode != modeSummary || m2.rec == nil {
		t.Fatal("r after a finished watch started something or wiped its summary")
	}
	if strings.Contains(m2.View(), "run again") || strings.Contains(m2.View(), "pause") {
		t.Fatalf("help offers keys that do nothing here:\n%s", m2.View())
	}
}

func TestSweepSummaryShowsEveryValue(t *testing.T) {
	rec := fixture(t)
	rec.Plan.Sweep = &record.Sweep{Parameter: record.SweepThreads, Values: []string{"2", "8"}}
	for i := range rec.Targets {
		second := rec.Targets[i].Runs[0]
		second.Step = 1
		rec.Targets[i].Runs = append(rec.Targets[i].Runs, second)
	}
	f := newFake(rec)
	m := Live(func(context.Context) (Source, error) { return f, nil })
	m, _ = step(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m, _ = step(t, m, startedMsg{gen: 0, run: f, cancel: func() {}})
	m, _ = step(t, m, doneMsg{gen: 0, rec: rec})
	view := m.View()
	for _, want := range []string{"Sweep of threads", "threads=2", "threads=8", "Peak RSS", "Req/s", "step 2/2 threads=8"} {
		if !strings.Contains(view, want) {
			t.Fatalf("sweep summary lacks %q:\n%s", want, view)
		}
	}
}
