package report

import (
	"fmt"
	"time"

	"github.com/allocscope/allocscope/record"
)

// CycleLabel says where a run of cycles is at offset now: "cycle 3/5", or "cycle 7,
// soak 12 min/1.0 h"; "" for a run of one load, or before its first cycle.
func CycleLabel(r *record.Record, now time.Duration) string {
	var cycles []record.Cycle
	for _, t := range r.Targets {
		if n := len(t.Runs); n > 0 && len(t.Runs[n-1].Cycles) > len(cycles) {
			cycles = t.Runs[n-1].Cycles
		}
	}
	if len(cycles) == 0 {
		return ""
	}
	k := 0
	for _, c := range cycles {
		if c.LoadStart <= now {
			k++
		}
	}
	if k == 0 {
		return ""
	}
	if r.Plan.Soak > 0 {
		elapsed := max(now-cycles[0].LoadStart, 0)
		return fmt.Sprintf("cycle %d, soak %s/%s", k, record.FormatDuration(elapsed), record.FormatDuration(r.Plan.Soak))
	}
	if r.Plan.Cycles > 0 {
		return fmt.Sprintf("cycle %d/%d", k, r.Plan.Cycles)
	}
	return fmt.Sprintf("cycle %d", k)
}

// PlannedCycles is how many cycles a plan runs: --cycles, or as many as fit in --soak
// (the last may run past it); 0 for a run of one load.
func PlannedCycles(p record.Plan) int {
	if p.Soak <= 0 {
		return p.Cycles
	}
	per := p.Duration + p.Idle
	if per <= 0 {
		return p.Cycles
	}
	n := int((p.Soak + per - 1) / per)
	if p.Cycles > 0 {
		n = min(n, p.Cycles)
	}
	return n
}
