package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/allocscope/allocscope/experiment"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
	"github.com/allocscope/allocscope/tune"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// DefaultTuneBudget is how long a tune search may take when --budget is not given.
const DefaultTuneBudget = 15 * time.Minute

// tuneArgs are tune's flags, bound.
type tuneArgs struct {
	o                                  experiment.Options
	allocs, minimize, keep, knobs, out string
	budget                             time.Duration
	confirmRuns                        int
	scenario                           string
}

// tuneFlags defines tune's flags; they are all here, for the port to another flag package.
func tuneFlags() (*pflag.FlagSet, *tuneArgs) {
	fs := newFlags("tune")
	a := &tuneArgs{}
	o := &a.o
	fs.StringVar(&a.allocs, "allocators", "", "the allocators whose settings to search, one search each (e.g. jemalloc or system,jemalloc); glibc is system")
	fs.StringVar(&a.minimize, "minimize", "peak_rss", "what to lower: "+strings.Join(tune.ObjectiveNames(), ", ")+" (working_set is the cgroup's peak: it turns --cgroup on)")
	fs.StringVar(&a.keep, "keep", "rps>=-5%,p99<=+10%", "bounds on the other figures against the allocator's defaults")
	fs.StringVar(&a.knobs, "knobs", "", "only these knobs of the allocator's table (e.g. dirty_decay_ms,narenas); default all")
	a.budget = DefaultTuneBudget
	fs.Var(durationFlag{&a.budget}, "budget", "the most the search may take, its confirmation included (e.g. 15m)")
	fs.IntVar(&a.confirmRuns, "confirm-runs", 5, "paired runs that confirm the winner against the defaults (3 or more)")
	fs.StringVar(&a.out, "out", "", "directory for the trials' run records and tune.json (default: a new one under "+runsDir()+")")
	fs.Var(targetsValue{&o.Targets}, "target", "tune a command instead of the built-in server: NAME=COMMAND with {port}, the allocator preloaded")
	fs.StringVar(&a.scenario, "scenario", "hello", "workload: "+strings.Join(experiment.ScenarioNames(), ", "))
	fs.StringVar(&o.Path, "path", "", "request path instead of a scenario")
	fs.IntVarP(&o.Connections, "connections", "c", 100, "connections per lane")
	o.Duration, o.Interval, o.Baseline, o.Cooldown = experiment.DefaultDuration, experiment.DefaultInterval, experiment.DefaultBaseline, experiment.DefaultCooldown
	fs.VarP(durationFlag{&o.Duration}, "duration", "d", "load duration of each trial")
	fs.Var(durationFlag{&o.Interval}, "interval", "sampling interval")
	fs.Var(durationFlag{&o.Baseline}, "baseline", "idle time before the load")
	fs.Var(durationFlag{&o.Cooldown}, "cooldown", "idle time after the load (what rss_after_idle reads)")
	fs.IntVar(&o.Threads, "threads", 0, "server worker threads (default: cores)")
	fs.IntVar(&o.CPUs, "cpus", 0, "confine each server to N CPUs, as a container smaller than the host (per-CPU defaults follow)")
	fs.BoolVar(&o.Cgroup, "cgroup", false, "run each lane in a memory cgroup of its own")
	fs.Var(sizeFlag{&o.MemoryLimit}, "memory-limit", "each lane's cgroup memory limit (e.g. 384MiB): a setting must serve within it")
	return fs, a
}

func newTuneCmd() *cobra.Command {
	fs, a := tuneFlags()
	c := command("tune --allocators ALLOCATOR[,…] [--minimize peak_rss] [--keep 'rps>=-5%,p99<=+10%'] [--budget 15m] [run flags]",
		"search an allocator's settings for the least memory within bounds", fs, noArgs, func(args []string) error { return cmdTune(a, args) })
	c.RegisterFlagCompletionFunc("allocators", listValue(servers.Names()))
	c.RegisterFlagCompletionFunc("minimize", words(tune.ObjectiveNames()...))
	c.RegisterFlagCompletionFunc("scenario", words(experiment.ScenarioNames()...))
	return c
}

func cmdTune(a *tuneArgs, args []string) error {
	if len(args) > 0 {
		return usagef("tune takes no arguments, got %q: flags start with -", args[0])
	}
	if strings.TrimSpace(a.allocs) == "" {
		return usagef("--allocators is missing: name the allocator(s) whose settings to search, e.g. --allocators jemalloc")
	}
	objective, ok := tune.Objectives[a.minimize]
	if !ok {
		return usagef("--minimize %q: choose from %s", a.minimize, strings.Join(tune.ObjectiveNames(), ", "))
	}
	keep, err := tune.ParseKeep(a.keep)
	if err != nil {
		return usageError{err.Error()}
	}
	if a.confirmRuns < tune.MinConfirmRuns {
		return usagef("--confirm-runs %d: use %d or more, the fewest the paired test calls a difference from", a.confirmRuns, tune.MinConfirmRuns)
	}
	if a.budget <= 0 {
		return usagef("--budget must be above 0 (e.g. 15m)")
	}
	o := a.o
	if o.Path == "" {
		o.Scenario = a.scenario
	}
	if a.minimize == "working_set" || o.MemoryLimit > 0 {
		o.Cgroup = o.MemoryLimit == 0
	}
	if o.Self, err = selfArgv(); err != nil {
		return err
	}
	o.Version = version
	var plans []tune.Plan
	for _, name := range strings.Split(a.allocs, ",") {
		alloc := strings.TrimSpace(name)
		if alloc == "glibc" {
			alloc = "system"
		}
		if _, err := servers.LookupAllocator(alloc); err != nil {
			return usageError{err.Error()}
		}
		knobs, err := pickKnobs(servers.Family(alloc), a.knobs)
		if err != nil {
			return err
		}
		plans = append(plans, tune.Plan{Allocator: alloc, Knobs: knobs, Minimize: objective, Keep: keep, Budget: a.budget / time.Duration(len(strings.Split(a.allocs, ","))), ConfirmRuns: a.confirmRuns})
	}
	dir := a.out
	if dir == "" {
		dir = filepath.Join(runsDir(), "tune-"+time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usagef("--out %s: %v", dir, err)
	}
	// The plan is checked once, as a trial of two lanes, before the search spends anything.
	check := o
	check.Allocators, check.Lanes = []string{plans[0].Allocator}, []servers.Lane{{Name: "defaults", Allocator: plans[0].Allocator, Named: true}}
	check.SavePath = filepath.Join(dir, ".check.json")
	if _, err := experiment.New(check); err != nil {
		return usageError{err.Error()}
	}
	os.Remove(check.SavePath)
	defer observe()()
	ctx, stop := onSignals()
	defer stop()
	var outcomes []tune.Outcome
	for _, p := range plans {
		fmt.Fprintf(os.Stderr, "allocscope tune: %s: %d knobs, minimize %s, budget %s; trials in %s\n", p.Allocator, len(p.Knobs), p.Minimize.Key, p.Budget, dir)
		r := &experimentRunner{base: o, dir: dir, prefix: p.Allocator}
		out, err := tune.Search(ctx, r, p, func(stage string, n int, _ *record.Record) string { return r.last })
		out.Command = commandLine(os.Args)
		outcomes = append(outcomes, out)
		if err != nil {
			writeOutcomes(dir, outcomes)
			return err
		}
		printOutcome(out, dir)
	}
	return writeOutcomes(dir, outcomes)
}

// pickKnobs is the family's knob table, or the named part of it.
func pickKnobs(family, names string) ([]tune.Knob, error) {
	table := tune.Knobs[family]
	if len(table) == 0 {
		return nil, usagef("no knob table for %s: tune knows glibc (system), jemalloc, mimalloc and tcmalloc", family)
	}
	if names == "" {
		return table, nil
	}
	var out []tune.Knob
	for _, n := range strings.Split(names, ",") {
		found := false
		for _, k := range table {
			if k.Name == strings.TrimSpace(n) {
				out, found = append(out, k), true
			}
		}
		if !found {
			var known []string
			for _, k := range table {
				known = append(known, k.Name)
			}
			return nil, usagef("--knobs %s: %s has no such knob (it has %s)", n, family, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// experimentRunner runs a trial as an experiment, its record saved in dir.
type experimentRunner struct {
	base   experiment.Options
	dir    string
	prefix string
	n      int
	// last is the path of the last trial's record.
	last string
}

func (r *experimentRunner) Cost(lanes, runs int) time.Duration {
	o := r.base.WithDefaults()
	o.Runs = runs
	return o.Estimate()
}

func (r *experimentRunner) Run(ctx context.Context, lanes []servers.Lane, runs int) (*record.Record, error) {
	o := r.base
	o.Runs = runs
	var allocs []string
	for _, l := range lanes {
		allocs = append(allocs, l.Allocator)
	}
	if len(o.Targets) > 0 {
		o.TargetAllocators, o.TargetLanes = allocs, lanes
	} else {
		o.Allocators, o.Lanes = allocs, lanes
	}
	r.n++
	r.last = filepath.Join(r.dir, fmt.Sprintf("%s-trial-%02d.json", r.prefix, r.n))
	o.SavePath = r.last
	e, err := experiment.New(o)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "allocscope tune: trial %d: %d lanes × %d run(s), about %s\n", r.n, len(lanes), runs, o.WithDefaults().Estimate().Round(time.Second))
	// A lane that crashed (an OOM kill under --memory-limit) is a finding the search
	// reads from the record, not the end of the search.
	return e.Run(ctx)
}

// printOutcome is the answer: one line to paste, or keep the defaults; then what backs it.
func printOutcome(out tune.Outcome, dir string) {
	if out.Recommended == "" {
		fmt.Printf("%s: keep the defaults\n", out.Allocator)
	} else {
		fmt.Printf("%s: %s\n", out.Allocator, out.Recommended)
	}
	fmt.Printf("  %s\n", out.Why)
	for i, t := range out.Trials {
		fmt.Printf("  trial %d, %s%s, %d run(s): %s\n", i+1, t.Stage, map[bool]string{true: " of " + t.Knob}[t.Knob != ""], t.Runs, t.Record)
	}
	if len(out.Skipped) > 0 {
		fmt.Printf("  not screened within the budget: %s\n", strings.Join(out.Skipped, ", "))
	}
	if len(out.Front) > 0 {
		fmt.Printf("  front (%s, req/s, p99 as ratios to the defaults):\n", out.Objective)
		for _, f := range out.Front {
			fmt.Printf("    %.2f× %.2f× %.2f×  %s\n", f.Objective, f.RPS, f.P99, f.Candidate)
		}
	}
	fmt.Printf("  the search: %s\n", filepath.Join(dir, "tune.json"))
}

func writeOutcomes(dir string, outcomes []tune.Outcome) error {
	data, err := json.MarshalIndent(outcomes, "", "  ")
	if err != nil {
		return err
	}
	return record.WriteFileAtomic(filepath.Join(dir, "tune.json"), append(data, '\n'))
}
