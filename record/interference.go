package record

import (
	"slices"
	"time"
)

// BusyOtherPct is the share of the machine's CPU (all cores = 100%) that work outside the
// experiment may take, on average over the load phase, before the run is called busy.
// Under load the servers and the load generators want every core, so other work takes
// its share from them, unevenly between the lanes: a quarter of a saturated machine is
// 25 times the smallest difference a verdict calls (verdict.MinEffect, 1%). The limit is
// meant to sit well above the background of a machine left to the run (daemons, a
// terminal: a few percent), so that only real competition sets it off; a load average
// of 13 on 2 cores (issue 29) is far over it, and so were this machine's 45–62% while
// other test suites ran beside a run.
const BusyOtherPct = 25.0

// Interference is how the machine's CPU was shared during the run, interval by interval:
// the experiment's own processes, and everything else. Percentages are of the machine's
// CPU, all cores together (2 cores both busy = 100%).
type Interference struct {
	Series []CPUShare `json:"series"`
	// MeanOtherPct and MaxOtherPct sum up the series' OtherPct over the load phases (over
	// the whole run when no load was sent).
	MeanOtherPct float64 `json:"mean_other_pct"`
	MaxOtherPct  float64 `json:"max_other_pct"`
	// Busy: MeanOtherPct was above BusyOtherPct, and the differences between the lanes
	// may be the other work's.
	Busy bool `json:"busy"`
	// AllowBusy is --allow-busy, given to the command reading the record now: it compares
	// a busy run all the same. It is the reader's choice, so it is never written.
	AllowBusy bool `json:"-"`
	// sum carries Summarize's figures from beat to beat (Append).
	sum struct {
		windows   [][2]time.Duration
		last      time.Duration
		count     int
		total     float64
		set, from bool
	}
}

// CPUShare is one interval's split of the machine's CPU, ending at offset T.
type CPUShare struct {
	T time.Duration `json:"t_ns"`
	// OtherPct is the machine's busy time less the experiment's own processes': other
	// work (and, on a virtual machine, time stolen by other guests).
	OtherPct float64 `json:"other_pct"`
	// ServersPct, GeneratorsPct and AllocscopePct are the lanes' server process trees,
	// the load workers, and allocscope with its other children.
	ServersPct    float64 `json:"servers_pct"`
	GeneratorsPct float64 `json:"generators_pct"`
	AllocscopePct float64 `json:"allocscope_pct"`
	// IRQPct is interrupts and softirqs, which the kernel charges to no process; on
	// loopback mostly the load's own packets, so not counted as other work.
	IRQPct float64 `json:"irq_pct,omitempty"`
}

// Refuses says whether comparisons of the run must be refused: it was busy, and the
// reader did not pass --allow-busy.
func (in *Interference) Refuses() bool { return in != nil && in.Busy && !in.AllowBusy }

// Summarize sets the summary figures and the Busy judgement from the series and the
// load phases of r's targets.
func (in *Interference) Summarize(r *Record) {
	in.MeanOtherPct, in.MaxOtherPct = 0, 0
	under := in.UnderLoad(r)
	for _, s := range under {
		in.MeanOtherPct += s.OtherPct / float64(len(under))
		in.MaxOtherPct = max(in.MaxOtherPct, s.OtherPct)
	}
	in.Busy = in.MeanOtherPct > BusyOtherPct
	in.sum.windows, in.sum.count, in.sum.set = loadWindows(r), len(under), true
	in.sum.total = 0
	for _, s := range under {
		in.sum.total += s.OtherPct
	}
	if n := len(in.Series); n > 0 {
		in.sum.last, in.sum.from = in.Series[n-1].T, true
	}
}

// Append adds s to the series and to the summary. While the load phases are as at the
// last beat, the summary takes in s alone: summarizing the whole series every beat cost
// a 24-hour run's beats a day's worth each. When they changed (a load began or ended),
// it is summarized again from the series in memory, which a long run's journal thins
// (Journal.Thin): the figures are then near, and the run's end summarizes the whole.
func (in *Interference) Append(r *Record, s CPUShare) {
	in.Series = append(in.Series, s)
	windows := loadWindows(r)
	if !in.sum.set || !slices.Equal(windows, in.sum.windows) {
		in.Summarize(r)
		return
	}
	from := s.T - r.Plan.Interval
	if in.sum.from {
		from = in.sum.last
	}
	in.sum.last, in.sum.from = s.T, true
	if len(windows) > 0 && !inWindows(windows, from+(s.T-from)/2) {
		return
	}
	in.sum.count++
	in.sum.total += s.OtherPct
	in.MeanOtherPct = in.sum.total / float64(in.sum.count)
	in.MaxOtherPct = max(in.MaxOtherPct, s.OtherPct)
	in.Busy = in.MeanOtherPct > BusyOtherPct
}

// loadWindows are the load phases of r's runs, an open one ending at the end of time.
func loadWindows(r *Record) [][2]time.Duration {
	var windows [][2]time.Duration
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			if p := run.Phases; p.LoadStart > 0 {
				end := p.LoadEnd
				if end == 0 {
					end = 1<<63 - 1
				}
				windows = append(windows, [2]time.Duration{p.LoadStart, end})
			}
		}
	}
	return windows
}

func inWindows(windows [][2]time.Duration, t time.Duration) bool {
	return slices.ContainsFunc(windows, func(w [2]time.Duration) bool { return t >= w[0] && t <= w[1] })
}

// UnderLoad is the part of the series taken while some target was under load: each
// interval whose middle falls in a load phase. With no load phase, it is all of it.
func (in *Interference) UnderLoad(r *Record) []CPUShare {
	windows := loadWindows(r)
	if len(windows) == 0 {
		return in.Series
	}
	var out []CPUShare
	for i, s := range in.Series {
		from := s.T - r.Plan.Interval
		if i > 0 {
			from = in.Series[i-1].T
		}
		if inWindows(windows, from+(s.T-from)/2) {
			out = append(out, s)
		}
	}
	return out
}

// AllowBusy marks every record as read with --allow-busy.
func AllowBusy(recs ...*Record) {
	for _, r := range recs {
		if r != nil && r.Interference != nil {
			r.Interference.AllowBusy = true
		}
	}
}
