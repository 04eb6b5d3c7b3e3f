package record

import "math"

// Fit defaults: limits to within 5%, and a limit that costs more than 10% of the
// throughput does not fit.
const (
	DefaultFitTolerance     = 0.05
	DefaultFitMinThroughput = 0.9
	DefaultFitTrials        = 10
)

// FitTrial is one trial of a --fit search for one target.
type FitTrial struct {
	LimitBytes uint64  `json:"limit_bytes"`
	Fits       bool    `json:"fits"`
	ReqPerSec  float64 `json:"req_per_sec"`
	// Why says why it did not fit ("" when it did).
	Why string `json:"why,omitempty"`
	// Interrupted: the trial was stopped before it ran its course, so it neither fit
	// nor failed, and the search does not count it.
	Interrupted bool `json:"interrupted,omitempty"`
}

// FitResult is where a target's --fit search stands: the limits known to fit (Hi, when
// Found) and not to fit (Lo), and its trials.
type FitResult struct {
	Target       string  `json:"target"`
	UnlimitedRPS float64 `json:"unlimited_rps"`
	// PeakBytes is the larger of the unlimited run's cgroup peak and its peak RSS.
	PeakBytes uint64     `json:"peak_bytes"`
	Lo        uint64     `json:"lo_bytes"`
	Hi        uint64     `json:"hi_bytes"`
	Found     bool       `json:"found"`
	Trials    []FitTrial `json:"trials"`
	// Excluded says why the target cannot be searched ("" when it can).
	Excluded string `json:"excluded,omitempty"`
	// Interrupted says the search was stopped before it ended: the bounds are what the
	// completed trials prove.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Converged says the search has a fitting limit within tolerance of one that does not fit.
func (f FitResult) Converged(tolerance float64) bool {
	return f.Found && float64(f.Hi) <= float64(f.Lo)*(1+tolerance)
}

// Next is the limit the target's next trial runs under; done when there is none to try
// (converged, excluded, or no limit up to 8× its unlimited peak fits).
func (f FitResult) Next(tolerance float64) (limit uint64, done bool) {
	switch {
	case f.Excluded != "" || f.Converged(tolerance):
		return 0, true
	case !f.Found:
		if f.Hi > 8*f.PeakBytes {
			return 0, true
		}
		return f.Hi, false
	}
	// Halve the ratio between the bounds: the middle on a log scale.
	return pageAlign(uint64(math.Sqrt(float64(f.Lo) * float64(f.Hi)))), false
}

// Fits replays every target's --fit search from the record: the unlimited run sets the
// bounds (its idle usage below, 1.1× its peak above) and each trial moves one of them.
func Fits(r *Record) []FitResult {
	plan := r.Plan.Fit
	if plan == nil {
		return nil
	}
	out := make([]FitResult, len(r.Targets))
	for i, t := range r.Targets {
		out[i] = fitOf(t, *plan)
		out[i].Interrupted = out[i].Interrupted || r.State == StateInterrupted
	}
	return out
}

func fitOf(t Target, plan FitPlan) FitResult {
	f := FitResult{Target: t.Name}
	if len(t.Runs) == 0 {
		f.Excluded = "its unlimited run did not happen"
		return f
	}
	base := t.Runs[0]
	switch {
	case base.Interrupted:
		f.Excluded, f.Interrupted = "its unlimited run was interrupted", true
	case base.Cgroup == nil:
		f.Excluded = "it ran in no cgroup of its own"
	case base.Exit.Crashed():
		f.Excluded = "it " + base.Exit.Clause() + " without a limit"
	case base.Result == nil || base.Result.ReqPerSec == 0:
		f.Excluded = "its unlimited run has no throughput"
	}
	if f.Excluded != "" {
		return f
	}
	// A cgroup is charged for the pages its processes touched first, and a server whose
	// binary is already cached holds less than its RSS: the search starts at the larger
	// of each, as a container that starts cold must hold the process's resident set.
	f.UnlimitedRPS, f.PeakBytes = base.Result.ReqPerSec, base.Cgroup.PeakBytes
	if v, _, _, ok := runPeak(base); ok {
		f.PeakBytes = max(f.PeakBytes, uint64(v))
	}
	f.Lo, f.Hi = max(base.Cgroup.IdleBytes, idleRSS(base)), pageAlign(f.PeakBytes+f.PeakBytes/10)
	for _, trial := range t.FitTrials {
		if trial.Cgroup == nil {
			continue
		}
		ft := judgeTrial(trial, f.UnlimitedRPS, plan.MinThroughput)
		f.Trials = append(f.Trials, ft)
		switch {
		case ft.Interrupted:
			f.Interrupted = true
		case ft.Fits && (!f.Found || ft.LimitBytes < f.Hi):
			f.Hi, f.Found = ft.LimitBytes, true
		case ft.Fits:
		case ft.LimitBytes >= f.Hi:
			// The peak and a tenth did not do, or a second look at the limit found to fit
			// disagreed with the first: look higher.
			f.Found, f.Lo, f.Hi = false, ft.LimitBytes, pageAlign(ft.LimitBytes+ft.LimitBytes/2)
		case ft.LimitBytes > f.Lo:
			f.Lo = ft.LimitBytes
		}
	}
	return f
}

// judgeTrial says whether a trial fit: it ran to the end of its cooldown with no OOM kill
// and kept minThroughput of the unlimited run's requests per second. A trial stopped
// before its end with no OOM kill or crash is neither: its load's few seconds say
// nothing about the whole scenario.
func judgeTrial(run TargetRun, unlimitedRPS, minThroughput float64) FitTrial {
	ft := FitTrial{LimitBytes: run.Cgroup.LimitBytes}
	if run.Result != nil {
		ft.ReqPerSec = run.Result.ReqPerSec
	}
	switch {
	case run.Exit != nil && run.Exit.OOM != nil:
		ft.Why = run.Exit.OOM.String()
	case run.Cgroup.Events.OOMKill > 0:
		ft.Why = "a process of it was OOM-killed"
	case run.Exit.Crashed():
		ft.Why = run.Exit.String()
	case run.Interrupted:
		ft.Interrupted, ft.Why = true, "interrupted before its end"
	case run.Result == nil:
		ft.Why = "its load did not finish"
	case ft.ReqPerSec < minThroughput*unlimitedRPS:
		ft.Why = "throughput fell below " + itoa(int(math.Round(100*minThroughput))) + "% of unlimited"
	default:
		ft.Fits = true
	}
	return ft
}

// idleRSS is the RSS at the last sample before the load.
func idleRSS(run TargetRun) uint64 {
	var rss uint64
	for _, s := range run.Samples {
		if run.Phases.LoadStart == 0 || s.T < run.Phases.LoadStart {
			rss = s.RSSBytes
		}
	}
	return rss
}

func pageAlign(b uint64) uint64 {
	const page = 4096
	return (b + page - 1) / page * page
}
