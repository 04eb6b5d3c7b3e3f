package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/allocscope/allocscope/record"
	tea "github.com/charmbracelet/bubbletea"
)

// TestReplayShowsNoControlCharacterOfTheRecord renders, without colour (so that any ESC
// in the frame came from the record), a record whose texts hold escapes: the setting
// issue that retitled the terminal and cleared the screen, settings, an event.
func TestReplayShowsNoControlCharacterOfTheRecord(t *testing.T) {
	rec := fixture(t)
	for i := range rec.Targets {
		rec.Targets[i].SettingIssues = []string{"bad\x1b]0;PWNED2\a\x1b[2J"}
		rec.Targets[i].Settings = map[string]string{"opt\x1b[31m": "on\x1b]52;c;aGk=\a"}
		rec.Targets[i].Mode = "arena\u009b2J"
	}
	rec.Events = append(rec.Events, record.Event{T: rec.Events[len(rec.Events)-1].T, Kind: "warning", Message: "said \x1b[1A\x1b[2K"})
	views := map[string]string{}
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		m := Replay(rec)
		m, _ = step(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		name := fmt.Sprintf("%dx%d", size[0], size[1])
		views["panels "+name] = m.View()
		m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("c")})
		views["chart "+name] = m.View()
	}
	live, _ := live(t, 100, 30)
	live, _ = step(t, live, doneMsg{gen: 0, rec: rec})
	views["summary"] = live.View()
	for name, v := range views {
		if i := strings.IndexAny(v, "\x1b\x07\u009b"); i >= 0 {
			t.Fatalf("%s view holds a control character at %d: %q", name, i, v[max(i-60, 0):min(i+20, len(v))])
		}
	}
	if !strings.Contains(views["summary"]+views["panels 120x40"], `bad\x1b]0;PWNED2`) {
		t.Fatalf("the ignored setting is not shown escaped:\n%s\n%s", views["panels 120x40"], views["summary"])
	}
}
