package tui

import (
	"strings"
	"testing"

	"github.com/allocscope/allocscope/record"
	tea "github.com/charmbracelet/bubbletea"
)

func TestSpaceOutsideTheLoadSaysSoAndPausesNothing(t *testing.T) {
	for _, c := range []struct {
		phase record.Phase
		want  string
	}{
		{record.PhaseBaseline, "nothing to pause yet: the load has not started"},
		{record.PhaseCooldown, "the load is over: nothing to pause or resume"},
	} {
		m, f := live(t, 100, 30)
		m, _ = step(t, m, snapshotMsg{gen: 0, rec: m.rec, phase: c.phase})
		if strings.Contains(m.View(), "space pause") {
			t.Errorf("%s: the help bar offers space", c.phase)
		}
		m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeySpace, Runes: []rune(" ")})
		if cmd != nil {
			cmd()
		}
		if f.paused || m.paused || !strings.Contains(m.View(), c.want) {
			t.Errorf("%s: paused %v/%v; view:\n%s", c.phase, f.paused, m.paused, m.View())
		}
	}
}

// Keys typed fast reach the view as one message: "rq" is r, then q.
func TestKeysThatArriveTogetherAreEachHandled(t *testing.T) {
	m, f := live(t, 100, 30)
	cancelled := false
	m.cancel = func() { cancelled = true }
	m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("rq")})
	if !cancelled || m.mode != modeStopping || m.restart || cmd == nil {
		t.Fatalf("rq: cancelled %v, mode %v, restart %v; want the run stopped and no other started", cancelled, m.mode, m.restart)
	}
	close(f.done)
	_, cmd = step(t, m, cmd())
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("rq did not quit once the run had stopped")
	}

	s, _ := live(t, 100, 30)
	s, _ = step(t, s, doneMsg{gen: 0, rec: s.rec})
	s, cmd = step(t, s, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("mr")})
	if s.gen != 1 || cmd == nil {
		t.Fatalf("mr in the summary: gen %d; want another run started", s.gen)
	}
}
