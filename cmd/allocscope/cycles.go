package main

import (
	"strings"
	"time"

	"github.com/allocscope/allocscope/experiment"
	"github.com/spf13/pflag"
)

// cycleFlags are run's flags for traffic over time: --cycles, --idle, --soak and
// --shape, defined and applied here together.
type cycleFlags struct {
	cycles     int
	idle, soak time.Duration
	shape      string
}

func addCycleFlags(fs *pflag.FlagSet) *cycleFlags {
	c := &cycleFlags{}
	fs.IntVar(&c.cycles, "cycles", 0, "repeat load and idle N times (-d of load, --idle after each), to see whether memory comes back or keeps growing")
	fs.Var(durationFlag{&c.idle}, "idle", "with --cycles or --soak: the idle after each load (default: the cooldown)")
	fs.Var(durationFlag{&c.soak}, "soak", "run cycles until D has passed (e.g. 1h; with --cycles, at most that many)")
	fs.StringVar(&c.shape, "shape", "", "the rate within each load: steady, burst (R/10 and R in turns), ramp (R/10 up to R), or steps RATE:DURATION,… (-R is the peak rate)")
	return c
}

// apply puts the flags into the plan; -d and -R must be in it already.
func (c *cycleFlags) apply(fs *pflag.FlagSet, o *experiment.Options) error {
	switch {
	case flagSet(fs, "cycles") && c.cycles < 1:
		return usagef("--cycles %d: give 1 or more", c.cycles)
	case flagSet(fs, "soak") && c.soak <= 0:
		return usagef("--soak must be above 0 (e.g. 1h)")
	case flagSet(fs, "idle") && c.idle <= 0:
		return usagef("--idle must be above 0 (e.g. 30s)")
	case flagSet(fs, "idle") && c.cycles < 2 && c.soak == 0:
		return usagef("--idle is the idle between cycles: give --cycles N or --soak D too (a single load's idle is --cooldown)")
	}
	o.Cycles, o.Idle, o.Soak = c.cycles, c.idle, c.soak
	if strings.TrimSpace(c.shape) == "" {
		if flagSet(fs, "shape") {
			return usagef("--shape is empty: give steady, burst, ramp or RATE:DURATION steps")
		}
		return nil
	}
	steps, err := experiment.ParseShape(c.shape, o.Rate, o.Duration)
	if err != nil {
		return usageError{err.Error()}
	}
	if d := experiment.ShapeDuration(steps); d > 0 && !flagSet(fs, "d") {
		o.Duration = d // a list of steps says how long the load is
	}
	o.Shape, o.ShapeSpec = steps, c.shape
	return nil
}

// preset takes a preset's cycles where the command line gave none.
func (c *cycleFlags) preset(fs *pflag.FlagSet, p experiment.Preset) {
	if !flagSet(fs, "cycles") && !flagSet(fs, "soak") && p.Cycles > 0 {
		c.cycles = p.Cycles
	}
	if !flagSet(fs, "idle") && p.Idle > 0 {
		c.idle = p.Idle
	}
}
