package tui

import (
	"io"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// screen paints frames on a terminal: a frame when what the model shows changed, and
// only the lines that differ from the last one painted. bubbletea's own renderer paints
// on a ticker of its own (1 to 120 times a second), a clock besides the run's heartbeat
// whose every wake-up is CPU taken from the servers under measurement.
type screen struct {
	out           io.Writer
	width, height int
	last          []string // the lines on the terminal
	full          bool     // the next paint rewrites every line (a resize)
	buf           strings.Builder
	// paints counts the frames written, for the tests.
	paints int
}

// resize makes the next paint a full one: the terminal may have reflowed what it held.
func (s *screen) resize(w, h int) {
	s.width, s.height, s.full = w, h, true
}

// paint writes view, cursor-positioned, where it differs from the last frame.
func (s *screen) paint(view string) error {
	lines := strings.Split(view, "\n")
	if s.height > 0 && len(lines) > s.height {
		// The bottom is kept, as bubbletea's renderer kept it: the status, the keys and
		// the help ? opens are there, and a header cut off costs less than the keys.
		lines = lines[len(lines)-s.height:]
	}
	s.buf.Reset()
	if s.full {
		s.buf.WriteString(ansi.EraseEntireScreen)
	}
	rows := max(len(lines), len(s.last))
	if s.full {
		// The screen was erased: nothing of the last frame is left to clear, and after a
		// shrink its rows are off the screen, where moving to them lands on the bottom
		// row, and erasing them would erase the frame's last line.
		rows = len(lines)
	}
	for i := 0; i < rows; i++ {
		switch {
		case i >= len(lines):
			s.moveTo(i)
			s.buf.WriteString(ansi.EraseEntireLine)
		case s.full || i >= len(s.last) || lines[i] != s.last[i]:
			l := lines[i]
			if s.width > 0 && ansi.StringWidth(l) > s.width {
				l = ansi.Truncate(l, s.width, "")
			}
			s.moveTo(i)
			s.buf.WriteString(l)
			s.buf.WriteString(ansi.EraseLineRight)
		}
	}
	s.last, s.full = lines, false
	if s.buf.Len() == 0 {
		return nil
	}
	s.paints++
	_, err := io.WriteString(s.out, s.buf.String())
	return err
}

func (s *screen) moveTo(row int) {
	s.buf.WriteString("\x1b[")
	s.buf.WriteString(strconv.Itoa(row + 1))
	s.buf.WriteString(";1H")
}

// painted is a model whose frames a screen paints at the end of each Update; bubbletea,
// run without a renderer, calls its View for nothing.
type painted struct {
	tea.Model
	s *screen
	// err is the first write that failed: the terminal is gone.
	err *error
	// restore gives the terminal back before a panic's message is printed, which on the
	// alternate screen would vanish with it.
	restore func()
}

func (p painted) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if p.restore != nil {
		defer func() {
			if r := recover(); r != nil {
				p.restore()
				panic(r)
			}
		}()
	}
	if ws, ok := msg.(tea.WindowSizeMsg); ok {
		p.s.resize(ws.Width, ws.Height)
	}
	next, cmd := p.Model.Update(msg)
	p.Model = next
	if err := p.s.paint(next.View()); err != nil && *p.err == nil {
		*p.err = err
		return p, tea.Quit
	}
	return p, cmd
}

func (p painted) View() string { return "" }
