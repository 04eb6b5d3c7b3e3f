package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/allocscope/allocscope/record"
)

// pause is a stretch of the load that the user paused (space in the TUI).
type pause struct{ from, to time.Duration }

// pauses pairs the record's pause and resume events; a pause never resumed lasts until
// the last load ended.
func pauses(r *record.Record) []pause {
	var loadEnd time.Duration
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			loadEnd = max(loadEnd, run.Phases.LoadEnd)
		}
	}
	var out []pause
	open := time.Duration(-1)
	for _, e := range r.Events {
		switch {
		case e.Kind == "pause" && open < 0:
			open = e.T
		case e.Kind == "resume" && open >= 0:
			out = append(out, pause{open, e.T})
			open = -1
		}
	}
	if open >= 0 {
		out = append(out, pause{open, max(open, loadEnd)})
	}
	return out
}

// pausedLoad is how long the load was paused, and the load's own length: the longest
// load window of any lane.
func pausedLoad(r *record.Record) (paused, load time.Duration, ps []pause) {
	ps = pauses(r)
	for _, p := range ps {
		paused += p.to - p.from
	}
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			if run.Phases.LoadEnd > run.Phases.LoadStart {
				load = max(load, run.Phases.LoadEnd-run.Phases.LoadStart)
			}
		}
	}
	return paused, load, ps
}

// writePauses says when the load was paused: req/s counts the paused seconds.
func writePauses(b *strings.Builder, r *record.Record) {
	paused, load, ps := pausedLoad(r)
	if len(ps) == 0 {
		return
	}
	var spans []string
	for _, p := range ps {
		spans = append(spans, fmt.Sprintf("%.1f s to %.1f s", p.from.Seconds(), p.to.Seconds()))
	}
	fmt.Fprintf(b, "\n**The load was paused** by the user for %.1f s in all (%s", paused.Seconds(), strings.Join(spans, ", "))
	if load > 0 {
		fmt.Fprintf(b, ", of a %.1f s load", load.Seconds())
	}
	b.WriteString("). Req/s is requests over the whole load, the paused seconds included, so it understates throughput")
	if r.Plan.Sequential {
		b.WriteString("; loading one target at a time, a pause took seconds from only the lanes loaded during it, so their req/s do not compare with the others'")
	}
	b.WriteString(".\n")
}

// pauseConclusion flags the throughput comparison of a run whose load was paused.
func pauseConclusion(r *record.Record) []string {
	paused, load, ps := pausedLoad(r)
	if len(ps) == 0 {
		return nil
	}
	of := ""
	if load > 0 {
		of = fmt.Sprintf(" of its %.1f s", load.Seconds())
	}
	return []string{fmt.Sprintf("The load was paused for %.1f s%s: the req/s figures count the paused time, so they understate throughput (see above).", paused.Seconds(), of)}
}
