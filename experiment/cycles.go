package experiment

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/allocscope/allocscope/record"
)

// Shapes are the named load shapes of --shape, each a schedule of rates within a load
// of duration d at the peak rate R (-R):
//
//   - steady: R for the whole load.
//   - burst: the load in five equal parts, quiet–burst–quiet–burst–quiet, at R/10, R,
//     R/10, R, R/10: two bursts with the lull between them where an allocator may give
//     memory back or not.
//   - ramp: the load in ten equal parts at R/10, 2R/10, … R: a morning's rise.
//
// A list RATE:DURATION,… (e.g. 100:10s,1000:5s,100:10s) gives the steps themselves; the
// load lasts their sum.
var Shapes = []string{"steady", "burst", "ramp"}

// MaxSoak bounds --soak: a longer one is a typo more likely than a plan.
const MaxSoak = 7 * 24 * time.Hour

// MinStep is the shortest step of a shape: the load's figures are kept per second.
const MinStep = time.Second

// ParseShape makes the steps of a shape for a load of d at rate (-R). A steady shape is
// no steps at all: one load at the plan's rate, as without --shape.
func ParseShape(spec string, rate float64, d time.Duration) ([]record.RateStep, error) {
	spec = strings.TrimSpace(spec)
	var steps []record.RateStep
	switch spec {
	case "", "steady":
		return nil, nil
	case "burst", "ramp":
		if rate <= 0 {
			return nil, fmt.Errorf("--shape %s varies the rate up to -R: give the peak rate, e.g. -R 2000", spec)
		}
		factors := []float64{0.1, 1, 0.1, 1, 0.1}
		if spec == "ramp" {
			factors = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}
		}
		part := d / time.Duration(len(factors))
		if part < MinStep {
			return nil, fmt.Errorf("--shape %s splits the load in %d parts: give -d %s or more", spec, len(factors), time.Duration(len(factors))*MinStep)
		}
		for k, f := range factors {
			s := record.RateStep{Rate: rate * f, Duration: part}
			if k == len(factors)-1 {
				s.Duration = d - part*time.Duration(len(factors)-1)
			}
			steps = append(steps, s)
		}
		return steps, nil
	}
	if !strings.Contains(spec, ":") {
		return nil, fmt.Errorf("--shape %q: use %s, or a list of RATE:DURATION steps like 100:10s,1000:5s,100:10s", spec, strings.Join(Shapes, ", "))
	}
	for _, part := range strings.Split(spec, ",") {
		r, du, ok := strings.Cut(strings.TrimSpace(part), ":")
		rt, err := strconv.ParseFloat(r, 64)
		if !ok || err != nil || rt <= 0 {
			return nil, fmt.Errorf("--shape step %q: use RATE:DURATION with a rate above 0 in requests per second, e.g. 500:10s", part)
		}
		dd, err := time.ParseDuration(du)
		if err != nil || dd < MinStep {
			return nil, fmt.Errorf("--shape step %q: the duration must be a Go duration of %s or more, e.g. 500:10s", part, MinStep)
		}
		steps = append(steps, record.RateStep{Rate: rt, Duration: dd})
	}
	return steps, nil
}

// ShapeDuration is how long a load of steps lasts.
func ShapeDuration(steps []record.RateStep) time.Duration {
	var d time.Duration
	for _, s := range steps {
		d += s.Duration
	}
	return d
}

// Cycled says whether the plan repeats load and idle (--cycles 2 or more, or --soak).
func (o Options) Cycled() bool { return o.Cycles > 1 || o.Soak > 0 }

// CycleIdle is the idle after each cycle's load: --idle, by default the cooldown.
func (o Options) CycleIdle() time.Duration {
	if o.Idle > 0 {
		return o.Idle
	}
	return o.Cooldown
}

// loadSteps are each load's steps: the shape's, or one at the plan's rate.
func (o Options) loadSteps() []record.RateStep {
	if len(o.Shape) > 0 {
		return o.Shape
	}
	return []record.RateStep{{Rate: o.Rate, Duration: o.Duration}}
}

func (o Options) validateCycles() error {
	switch {
	case o.Cycles < 0:
		return fmt.Errorf("--cycles %d: give 1 or more", o.Cycles)
	case o.Idle < 0 || o.Soak < 0:
		return fmt.Errorf("--idle and --soak cannot be negative")
	case o.Soak > MaxSoak:
		return fmt.Errorf("--soak %s: at most %s", o.Soak, MaxSoak)
	case o.Cycled() && o.Fit:
		return fmt.Errorf("--fit runs its own series of trials: drop --cycles and --soak")
	}
	for _, s := range o.Shape {
		if s.Rate <= 0 || s.Duration < MinStep {
			return fmt.Errorf("--shape step %g:%s: give a rate above 0 and %s or more", s.Rate, s.Duration, MinStep)
		}
	}
	if d := ShapeDuration(o.Shape); d > 0 && d != o.Duration {
		return fmt.Errorf("--shape lasts %s but -d is %s: leave -d out, or make them agree", d, o.Duration)
	}
	return nil
}

// cycles runs the group's loads, each followed by an idle: once, or --cycles times, or
// until --soak has passed. False when ctx ended it.
func (e *Experiment) cycles(ctx context.Context, r *running, group []int) bool {
	plan := e.opts
	if !plan.Cycled() {
		return e.cycle(ctx, r, group, 0, plan.Cooldown)
	}
	start := time.Now()
	for k := 1; plan.Cycles == 0 || k <= plan.Cycles; k++ {
		if plan.Soak > 0 && k > 1 && time.Since(start) >= plan.Soak {
			break
		}
		e.event("", record.EventCycle, fmt.Sprintf("cycle %d%s", k, e.cycleOf(plan, time.Since(start))))
		if !e.cycle(ctx, r, group, k, plan.CycleIdle()) {
			return false
		}
	}
	return true
}

// cycleOf says how far a run of cycles has come: " of 5", or " (soak 12 min of 1 h)".
func (e *Experiment) cycleOf(plan Options, elapsed time.Duration) string {
	if plan.Soak > 0 {
		return fmt.Sprintf(" (soak %s of %s)", record.FormatDuration(elapsed), record.FormatDuration(plan.Soak))
	}
	return fmt.Sprintf(" of %d", plan.Cycles)
}

// cycle is one load of the group and the idle after it; k is its number (0 for a run
// of one load, which keeps no cycles).
func (e *Experiment) cycle(ctx context.Context, r *running, group []int, k int, idle time.Duration) bool {
	if e.onCycle != nil {
		for _, i := range group {
			if p := r.procs[i]; p != nil {
				e.onCycle(ctx, i, p.Addr())
			}
		}
	}
	e.SetPhase(record.PhaseLoad)
	e.load(ctx, r, group, k)
	if ctx.Err() != nil {
		return false
	}
	e.SetPhase(record.PhaseCooldown)
	e.endPause()
	e.logf("cooldown: %s idle", idle)
	return e.cooldown(ctx, r.run, group, idle, k)
}
