package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// frames keeps each write to the terminal: one per paint.
type frames struct {
	mu sync.Mutex
	w  []string
}

func (f *frames) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.w = append(f.w, string(p))
	return len(p), nil
}

func (f *frames) all() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.w...)
}

// observed tells the test after each Update which message it handled and how many
// frames had been painted by then.
type observed struct {
	painted
	after chan<- string
}

func (o observed) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := o.painted.Update(msg)
	o.painted = next.(painted)
	o.after <- fmt.Sprintf("%T %d", msg, o.s.paints)
	return o, cmd
}

// The view paints once per change of what it shows (a resize, the run's heartbeat, a
// key), only the lines that changed, and never when nothing changed.
func TestPaintsOnlyWhatChangedWhenItChanged(t *testing.T) {
	f := newFake(fixture(t))
	release := make(chan struct{})
	m := Live(func(ctx context.Context) (Source, error) {
		<-release
		return f, nil
	})
	out := &frames{}
	after := make(chan string)
	var paintErr error
	p := tea.NewProgram(observed{painted{Model: m, s: &screen{out: out}, err: &paintErr}, after},
		tea.WithoutRenderer(), tea.WithInput(nil), tea.WithoutSignalHandler())
	ended := make(chan error, 1)
	go func() {
		_, err := p.Run()
		ended <- err
	}()
	next := func(wantMsg string, wantPaints int) string {
		t.Helper()
		select {
		case got := <-after:
			if want := fmt.Sprintf("%s %d", wantMsg, wantPaints); got != want {
				t.Fatalf("after an update: %q, want %q", got, want)
			}
		case err := <-ended:
			t.Fatalf("the program ended: %v", err)
		}
		w := out.all()
		if len(w) != wantPaints {
			t.Fatalf("%d writes to the terminal, want %d", len(w), wantPaints)
		}
		if len(w) == 0 {
			return ""
		}
		return w[len(w)-1]
	}

	go p.Send(tea.WindowSizeMsg{Width: 100, Height: 30})
	if frame := next("tea.WindowSizeMsg", 1); !strings.Contains(frame, ansi.EraseEntireScreen) || !strings.Contains(frame, "starting the servers") {
		t.Fatalf("the first frame is not a full paint: %q", frame)
	}
	close(release)
	// The run started: the keys it offers appear, and only their line is written.
	if frame := next("tui.startedMsg", 2); strings.Count(frame, ";1H") != 1 || !strings.Contains(frame, "r run again") {
		t.Fatalf("the started run's frame: %q", frame)
	}
	f.changed <- struct{}{}
	frame := next("tui.snapshotMsg", 3)
	if !strings.Contains(frame, "LOAD") || strings.Contains(frame, ansi.EraseEntireScreen) {
		t.Fatalf("the heartbeat's frame: %q", frame)
	}
	go p.Send(tickMsg{id: 99})
	next("tui.tickMsg", 3) // a stale message changes nothing: no paint

	go p.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("m")})
	frame = next("tea.KeyMsg", 4)
	if !strings.Contains(frame, "VSZ (MiB)") {
		t.Fatalf("m's frame does not show the VSZ chart: %q", frame)
	}
	if strings.Contains(frame, "╭") || strings.Contains(frame, "allocscope") {
		t.Fatalf("m repainted the header and panels, which it did not change: %q", frame)
	}
	go p.Send(tea.WindowSizeMsg{Width: 90, Height: 30})
	if frame := next("tea.WindowSizeMsg", 5); !strings.Contains(frame, ansi.EraseEntireScreen) || !strings.Contains(frame, "allocscope") {
		t.Fatalf("a resize is not a full repaint: %q", frame)
	}
	go p.Quit()
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
}

// A frame shorter than the last clears the lines it no longer covers; one taller than
// the screen keeps its bottom, where the keys are.
func TestPaintClearsWhatAShorterFrameLeaves(t *testing.T) {
	out := &frames{}
	s := &screen{out: out}
	s.resize(10, 3)
	s.paint("a\nb\nc\nd")
	if w := out.all(); len(w) != 1 || strings.Contains(w[0], "a") || !strings.Contains(w[0], "d") {
		t.Fatalf("a 4-line frame on a 3-line screen: %q, want b, c and d", w)
	}
	s.paint("a")
	w := out.all()
	if len(w) != 2 || strings.Count(w[1], ansi.EraseEntireLine) != 2 || !strings.Contains(w[1], "a") {
		t.Fatalf("a shorter frame: %q, want lines 2 and 3 erased and line 1 left", w[1])
	}
	s.paint("a")
	if len(out.all()) != 2 {
		t.Fatal("an unchanged frame was painted")
	}
}

// ? opens the full help below a view that fills the screen: every line of it is on the
// screen, not cut off by the screen's height.
func TestTheFullHelpIsOnTheScreen(t *testing.T) {
	m, _ := live(t, 120, 40)
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("?")})
	s := &screen{out: &frames{}}
	s.resize(120, 40)
	if err := s.paint(m.View()); err != nil {
		t.Fatal(err)
	}
	if len(s.last) != 40 {
		t.Fatalf("%d lines painted on a 40-line screen", len(s.last))
	}
	shown := strings.Join(s.last, "\n")
	for _, b := range slices.Concat(m.keys.FullHelp()...) {
		if b.Enabled() && !strings.Contains(shown, b.Help().Desc) {
			t.Fatalf("the full help's %q is not on the screen:\n%s", b.Help().Desc, shown)
		}
	}
}

// A resize to fewer rows writes no row past the new bottom: a terminal moves the cursor
// there to its last row, and erasing the old rows would erase the frame's last line.
func TestAShrinkLeavesTheLastLine(t *testing.T) {
	out := &frames{}
	s := &screen{out: out}
	s.resize(10, 5)
	s.paint("a\nb\nc\nd\ne")
	s.resize(10, 3)
	s.paint("a\nb\nkeys")
	w := out.all()
	if len(w) != 2 || !strings.Contains(w[1], "\x1b[3;1Hkeys") {
		t.Fatalf("the frame after a shrink: %q", w)
	}
	if strings.Contains(w[1], "\x1b[4;1H") || strings.Contains(w[1], "\x1b[5;1H") {
		t.Fatalf("the frame after a shrink to 3 rows writes rows 4 and 5: %q", w[1])
	}
}
