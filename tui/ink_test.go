package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// The frame's shortcuts past lipgloss (inks, boxes) draw what lipgloss draws, byte for
// byte, in every colour profile: the golden files, in ASCII, cannot see a colour.
func TestInksAndBoxesDrawAsLipglossDoes(t *testing.T) {
	defer lipgloss.SetColorProfile(termenv.Ascii)
	texts := []string{"", "jemalloc", "RSS 4.0M  peak 4.4M", "a\ttab", "two\nlines", "wide ██ ▁▂"}
	for _, p := range []termenv.Profile{termenv.TrueColor, termenv.ANSI256, termenv.ANSI, termenv.Ascii} {
		lipgloss.SetColorProfile(p)
		for lane := 0; lane < 9; lane++ {
			for _, b := range []bool{false, true} {
				st := lipgloss.NewStyle().Foreground(targetColor(lane)).Bold(b)
				for _, s := range texts {
					if got, want := laneInk(lane, b).on(s), st.Render(s); got != want {
						t.Fatalf("profile %v lane %d bold %v %q: got %q, want %q", p, lane, b, s, got, want)
					}
				}
			}
		}
		for lane, st := range map[int]lipgloss.Style{inkBold: bold, inkFaint: faint, inkWarn: warn} {
			if got, want := laneInk(lane, false).on("x y"), st.Render("x y"); got != want {
				t.Fatalf("profile %v style %d: got %q, want %q", p, lane, got, want)
			}
		}
		lines := []string{laneInk(1, true).on("jemalloc") + faint.Render(" · je"), "pid 1 running", "", "RSS " + bold.Render("4.0M") + "  peak 4.4M", "exactly twelve"[:12]}
		for _, height := range []int{3, 7} {
			want := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(targetColor(2)).Width(20).Height(height).Render(strings.Join(lines, "\n"))
			if got := strings.Join(box(lines, 20, height, laneInk(2, false)), "\n"); got != want {
				t.Fatalf("profile %v height %d: box\n%q, lipgloss draws\n%q", p, height, got, want)
			}
		}
	}
}
