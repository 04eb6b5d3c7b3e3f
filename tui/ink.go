package tui

import (
	"strings"
	"sync"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// ink is a style's escape sequences around one line of text, worked out once per colour
// profile: lipgloss's Render measures, wraps, aligns and borders every string it is given
// (grapheme by grapheme), which for a colour alone was most of a frame's cost.
type ink struct {
	pre, post string
	st        lipgloss.Style
}

// inkOf is what st.Render puts around a line; st may set colours, bold and faint only.
func inkOf(st lipgloss.Style) ink {
	r := st.Render("x")
	i := strings.IndexByte(r, 'x')
	return ink{pre: r[:i], post: r[i+1:], st: st}
}

// on is s in the ink, as the style's Render draws it.
func (k ink) on(s string) string {
	if strings.ContainsAny(s, "\t\r\n") {
		return k.st.Render(s) // it converts tabs and styles each line on its own
	}
	return k.pre + s + k.post
}

func (k ink) same(o ink) bool { return k.pre == o.pre && k.post == o.post }

type inkKey struct {
	profile termenv.Profile
	lane    int // a target's colour, or one of the named styles below
	bold    bool
}

const (
	inkBold = -1 - iota
	inkFaint
	inkWarn
)

var inks sync.Map

// laneInk is target lane's colour, bold or not; lane may name a style (inkBold…).
func laneInk(lane int, boldToo bool) ink {
	key := inkKey{lipgloss.ColorProfile(), lane, boldToo}
	if k, ok := inks.Load(key); ok {
		return k.(ink)
	}
	var st lipgloss.Style
	switch lane {
	case inkBold:
		st = bold
	case inkFaint:
		st = faint
	case inkWarn:
		st = warn
	default:
		st = lipgloss.NewStyle().Foreground(targetColor(lane)).Bold(boldToo)
	}
	k := inkOf(st)
	inks.Store(key, k)
	return k
}
