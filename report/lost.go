package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/allocscope/allocscope/record"
)

// LossKind is what made a lane lose figures.
type LossKind string

// Loss kinds.
const (
	LostCrash      LossKind = "crashed"
	LostOOMKill    LossKind = "oom-killed"
	LostLoad       LossKind = "load-died"
	LostSource     LossKind = "source-lost"
	LostIncomplete LossKind = "record-incomplete"
	// LostUnmeasured: one record has the figure for the lane and the other has none, for
	// no reason it records.
	LostUnmeasured LossKind = "not-measured"
)

// Loss is what one lane of one record lost, and why. A lane that lost figures must not be
// compared as if it had them: a lane OOM-killed at once has the lowest peak RSS of all.
type Loss struct {
	Record string  `json:"record"`
	Lane   string  `json:"lane"`
	Causes []Cause `json:"causes"`
}

// Cause is one reason a lane lost figures, in some of its runs.
type Cause struct {
	Kind LossKind `json:"kind"`
	// Why says what happened: "OOM-killed at the 8 MiB limit, 0.0 s into the load".
	Why string `json:"why"`
	// Runs are the runs it happened in, from 1; empty where no run is to blame (a figure
	// that no run has).
	Runs []int `json:"runs,omitempty"`
	// Figures are the keys of the figures lost; empty is every figure.
	Figures []string `json:"figures,omitempty"`
}

// String is the loss as one line: "jemalloc in new.json lost every figure in runs 1–3:
// OOM-killed at the 8 MiB limit, 0.0 s into the load".
func (l Loss) String() string {
	var parts []string
	for _, c := range l.Causes {
		what := "every figure"
		if len(c.Figures) > 0 {
			var labels []string
			for _, k := range c.Figures {
				labels = append(labels, LowerFirst(metricLabel(k)))
			}
			what = strings.Join(labels, ", ")
		}
		if len(c.Runs) > 0 {
			what += " in " + runList(c.Runs)
		}
		parts = append(parts, what+" ("+c.Why+")")
	}
	return fmt.Sprintf("%s in %s lost %s", l.Lane, l.Record, strings.Join(parts, "; "))
}

func metricLabel(key string) string {
	for _, m := range record.AllMetrics {
		if m.Key == key {
			return m.Label
		}
	}
	return key
}

// runList writes runs 1, 2, 3 as "runs 1–3" and 2 as "run 2".
func runList(runs []int) string {
	if len(runs) == 1 {
		return "run " + strconv.Itoa(runs[0])
	}
	contiguous := true
	for i := 1; i < len(runs); i++ {
		contiguous = contiguous && runs[i] == runs[i-1]+1
	}
	if contiguous {
		return fmt.Sprintf("runs %d–%d", runs[0], runs[len(runs)-1])
	}
	var s []string
	for _, r := range runs {
		s = append(s, strconv.Itoa(r))
	}
	return "runs " + strings.Join(s, ", ")
}

var memoryFigures = []string{record.MetricPeakRSS.Key, record.MetricMeanRSSLoad.Key, record.MetricRSSAfterCooldown.Key, record.MetricPeakVSZ.Key}

// cycleMemoryFigures are the figures of a cycled run that its samples give: every one.
var cycleMemoryFigures = []string{record.MetricRSSAfterIdle.Key, record.MetricCyclePeakRSS.Key, record.MetricReleaseHalf.Key, record.MetricCycleWorkingSet.Key}

// runLoss says what a run lost, if anything: its kind, why, and the figures (nil: every
// one). last says the run is the lane's last in a record that did not finish.
func runLoss(run record.TargetRun, state string, last bool) (LossKind, string, []string) {
	switch {
	case run.Exit != nil && run.Exit.OOM != nil:
		return LostOOMKill, run.Exit.OOM.String(), nil
	case run.Cgroup != nil && run.Cgroup.Events.OOMKill > 0:
		return LostOOMKill, "a process of it was OOM-killed", nil
	case run.Exit.Crashed():
		return LostCrash, "it crashed: " + run.Exit.String(), nil
	case run.LoadError != "":
		return LostLoad, "its load died: " + run.LoadError, nil
	case DeadLoad(run):
		return LostLoad, fmt.Sprintf("its load got no successful response, %d errors", run.Result.ErrorCount()), nil
	case run.SourceError != "":
		figures := memoryFigures
		if len(run.Cycles) >= 2 {
			figures = append(slices.Clip(figures), cycleMemoryFigures...)
		}
		return LostSource, "its memory source was lost: " + run.SourceError, figures
	case last && Incomplete(state):
		return LostIncomplete, "the record is incomplete, state " + state + ": the run did not finish", nil
	}
	return "", "", nil
}

// DeadLoad says whether a run's load ended with no successful response: every request
// failed (an unreachable target) or was answered with an error status. Its throughput of 0
// and its latency describe no service, and its memory no load.
func DeadLoad(run record.TargetRun) bool {
	r := run.Result
	return r != nil && r.Requests <= r.Errors["non2xx"]
}

// Incomplete says whether a record in this state stopped before its plan was done: killed
// (left running), interrupted, or failed.
func Incomplete(state string) bool {
	return state == record.StateRunning || state == record.StateInterrupted || state == record.StateFailed
}

// withoutLosses is r without the runs that lost every figure and with the memory figures of
// runs that lost those blanked, so that what is compared is what was measured; and the
// losses, per lane as it is named once a sweep is flattened.
func withoutLosses(r *record.Record, name string) (*record.Record, []Loss) {
	clean := r.Clone()
	var out []Loss
	for i, t := range r.Targets {
		lastStep := 0
		for _, run := range t.Runs {
			lastStep = max(lastStep, run.Step)
		}
		losses := map[int]*Loss{} // by step
		var steps []int
		var kept []record.TargetRun
		for j, run := range t.Runs {
			last := run.Step == lastStep && j == lastOfStep(t.Runs, run.Step)
			kind, why, figures := runLoss(run, r.State, last)
			if kind == "" {
				kept = append(kept, clean.Targets[i].Runs[j])
				continue
			}
			l := losses[run.Step]
			if l == nil {
				lane := t.Name
				if r.Plan.Sweep != nil {
					lane += " " + r.Plan.Sweep.Label(run.Step)
				}
				l = &Loss{Record: name, Lane: lane}
				losses[run.Step] = l
				steps = append(steps, run.Step)
			}
			l.add(Cause{Kind: kind, Why: why, Runs: []int{runNumber(t.Runs, j)}, Figures: figures})
			if figures != nil {
				blanked := clean.Targets[i].Runs[j]
				blanked.Samples, blanked.Peaks = nil, nil
				kept = append(kept, blanked)
			}
		}
		clean.Targets[i].Runs = kept
		for _, k := range steps {
			out = append(out, *losses[k])
		}
	}
	return clean, out
}

// add folds a cause into the loss: the same kind and why again adds its runs and figures.
func (l *Loss) add(c Cause) {
	for i := range l.Causes {
		if had := &l.Causes[i]; had.Kind == c.Kind && had.Why == c.Why {
			had.Runs = append(had.Runs, c.Runs...)
			if len(had.Figures) > 0 && len(c.Figures) > 0 {
				for _, f := range c.Figures {
					if !slices.Contains(had.Figures, f) {
						had.Figures = append(had.Figures, f)
					}
				}
			} else {
				had.Figures = nil // every figure
			}
			return
		}
	}
	l.Causes = append(l.Causes, c)
}

func lastOfStep(runs []record.TargetRun, step int) int {
	last := -1
	for j, run := range runs {
		if run.Step == step {
			last = j
		}
	}
	return last
}

// runNumber is run j's number within its step, from 1.
func runNumber(runs []record.TargetRun, j int) int {
	n := 0
	for k := 0; k <= j; k++ {
		if runs[k].Step == runs[j].Step {
			n++
		}
	}
	return n
}
