package tui

import (
	"fmt"

	"github.com/allocscope/allocscope/record"
)

// busyNote warns, on the progress line, that other work is taking the machine's CPU (in
// percent of all its cores): live while the latest reading is over the threshold (in a
// replay, the reading at the cursor), and for the whole run once it has ended busy. It
// is short to fit beside the progress bar at 80 columns; the summary's conclusion says
// it in full.
func (m Model) busyNote() string {
	in := m.rec.Interference
	if in == nil {
		return ""
	}
	if m.mode == modeSummary || m.rec.State != record.StateRunning && m.mode != modeReplay {
		if in.Busy {
			return "  " + warn.Render(fmt.Sprintf("⚠ busy: %.0f%% other work", in.MeanOtherPct))
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
	return "  " + warn.Render(fmt.Sprintf("⚠ busy: %.0f%% other work", now.OtherPct))
}
