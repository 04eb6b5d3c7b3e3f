package tui

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"golang.org/x/term"
)

// terminal is the one the view takes over: raw keys, the alternate screen, no cursor.
// bubbletea does this itself only with its own renderer, which paints on a clock.
type terminal struct {
	in, out *os.File
	state   *term.State
	once    sync.Once
	closeIn bool
}

// openTerminal takes over the terminal: keys from standard input, or from /dev/tty when
// the input is redirected, and frames on standard output.
func openTerminal() (*terminal, error) {
	t := &terminal{in: os.Stdin, out: os.Stdout}
	if !term.IsTerminal(int(t.out.Fd())) {
		return nil, errors.New("standard output is not a terminal: run in a terminal, or pass --headless")
	}
	if !term.IsTerminal(int(t.in.Fd())) {
		f, err := os.Open("/dev/tty")
		if err != nil {
			return nil, fmt.Errorf("no terminal to read keys from: %w", err)
		}
		t.in, t.closeIn = f, true
	}
	state, err := term.MakeRaw(int(t.in.Fd()))
	if err != nil {
		t.close()
		return nil, fmt.Errorf("raw mode: %w", err)
	}
	t.state = state
	io.WriteString(t.out, ansi.SetModeAltScreenSaveCursor+ansi.HideCursor+ansi.EraseEntireScreen)
	return t, nil
}

// restore gives the terminal back as it was; safe to call more than once (a panic
// restores before its message is printed, and the deferred restore follows).
func (t *terminal) restore() {
	t.once.Do(func() {
		io.WriteString(t.out, ansi.ShowCursor+ansi.ResetModeAltScreenSaveCursor)
		term.Restore(int(t.in.Fd()), t.state)
		t.close()
	})
}

func (t *terminal) close() {
	if t.closeIn {
		t.in.Close()
	}
}

// sendSizes sends p the terminal's size now and at each resize (SIGWINCH), until stop.
func (t *terminal) sendSizes(p *tea.Program) (stop func()) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			if w, h, err := term.GetSize(int(t.out.Fd())); err == nil {
				p.Send(tea.WindowSizeMsg{Width: w, Height: h})
			}
			select {
			case <-winch:
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
	}
}
