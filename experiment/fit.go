package experiment

import (
	"context"
	"fmt"
	"strings"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

func (o Options) fitPlan() *record.FitPlan {
	if !o.Fit {
		return nil
	}
	return &record.FitPlan{Trials: o.FitTrials, Tolerance: record.DefaultFitTolerance, MinThroughput: record.DefaultFitMinThroughput}
}

// fit runs a --fit search: one unlimited run, then trials with every lane under the limit
// its own search picks next (record.Fits), side by side, until every lane has converged
// or the trials run out. Each trial's runs move to the targets' FitTrials, so the
// record's runs stay the unlimited one that its summary describes.
func (e *Experiment) fit(ctx context.Context, bins map[string]servers.Binary) error {
	plan := e.Snapshot().Plan.Fit
	e.event("", record.EventFit, "fit: an unlimited run first, to measure each lane's peak and throughput")
	if err := e.runOnce(ctx, 0, bins); err != nil || ctx.Err() != nil {
		return err
	}
	for trial := 1; trial <= plan.Trials; trial++ {
		fits := record.Fits(e.Snapshot())
		limits := make([]uint64, len(fits))
		var searching []string
		for i, f := range fits {
			next, done := f.Next(plan.Tolerance)
			switch {
			case !done:
				limits[i] = next
				searching = append(searching, fmt.Sprintf("%s at %s", f.Target, record.MiBString(next)))
			case f.Found:
				// A lane already found runs at its limit once more: a second look at it.
				limits[i] = f.Hi
			}
		}
		if len(searching) == 0 {
			break
		}
		e.mu.Lock()
		e.fitLimits, e.step = limits, trial
		e.mu.Unlock()
		e.event("", record.EventFit, fmt.Sprintf("fit trial %d of at most %d: %s", trial, plan.Trials, strings.Join(searching, ", ")))
		err := e.runOnce(ctx, 1, bins)
		e.Edit(func(r *record.Record) {
			for i := range r.Targets {
				t := &r.Targets[i]
				if len(t.Runs) > 1 {
					t.FitTrials = append(t.FitTrials, t.Runs[1:]...)
					t.Runs = t.Runs[:1]
				}
			}
		})
		if err != nil || ctx.Err() != nil {
			return err
		}
	}
	return nil
}
