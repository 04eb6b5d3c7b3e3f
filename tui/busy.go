package tui

import (
	"fmt"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
)

// busyNote warns, on the progress line, that other work is taking the machine's CPU:
// live while the latest reading is over the threshold (in a replay, the reading at the
// cursor), and for the whole run once it has ended busy.
func (m Model) busyNote() string {
	in := m.rec.Interference
	if in == nil {
		return ""
	}
	if m.mode == modeSummary || m.rec.State != record.StateRunning && m.mode != modeReplay {
		if b := report.BusyMachine(m.rec); b != "" {
			return "  " + warn.Render("⚠ "+b)
		}
		return ""
	}
	var now *record.CPUShare
	for i := range in.Series {
		if in.Series[i].T > m.at() {
			break
		}
		now = &in.Series[i]
	}
	if now == nil || now.OtherPct <= record.BusyOtherPct {
		return ""
	}
	return "  " + warn.Render(fmt.Sprintf("⚠ the machine is busy with other work (%.0f%% of its CPU)", now.OtherPct))
}
