package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/allocscope/allocscope/experiment"
	"github.com/allocscope/allocscope/internal/rawio"
	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/metrics"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/servers"
	"github.com/allocscope/allocscope/tui"
	"github.com/allocscope/allocscope/units"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

type targetsValue struct{ t *[]experiment.CustomTarget }

func (v targetsValue) String() string { return "" }
func (v targetsValue) Type() string   { return "value" }
func (v targetsValue) Set(s string) error {
	name, cmd, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(cmd) == "" {
		return fmt.Errorf("--target %q: use NAME=COMMAND, with {port} where the port goes", s)
	}
	*v.t = append(*v.t, experiment.CustomTarget{Name: strings.TrimSpace(name), Command: cmd})
	return nil
}

// exports are the --export-* files of a run, and its --against comparison.
type exports struct {
	md, json, csv, svg string
	against            *against
	// current is the run the view follows, for --metrics-addr across restarts.
	current *currentRun
	// view is the TUI's first view (--view panels|chart).
	view viewFlag
}

// viewFlag is --view: the TUI's panels, or its chart over the whole screen.
type viewFlag string

func (v *viewFlag) String() string { return string(*v) }
func (v *viewFlag) Type() string   { return "value" }
func (v *viewFlag) Set(s string) error {
	if s != tui.ViewPanels && s != tui.ViewChart {
		return fmt.Errorf("%q: use panels or chart", s)
	}
	*v = viewFlag(s)
	return nil
}

// addViewFlag defines --view on a command with a TUI.
func addViewFlag(fs *pflag.FlagSet, v *viewFlag) {
	*v = tui.ViewPanels
	fs.Var(v, "view", "the TUI's first view: panels, or chart (one metric over the whole screen, for a projector; c switches)")
}

// currentRun is the experiment now running: r in the TUI starts another.
type currentRun struct {
	mu sync.Mutex
	e  *experiment.Experiment
}

func (c *currentRun) set(e *experiment.Experiment) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.e = e
	c.mu.Unlock()
}

func (c *currentRun) snapshot() *record.Record {
	c.mu.Lock()
	e := c.e
	c.mu.Unlock()
	return e.Snapshot()
}

// write writes every requested export, the others even when one fails. The error names
// each file that failed and where the record is still saved; main prints it once.
func (x exports) write(rec *record.Record, saved string) error {
	if err := x.writeFiles(rec, saved); err != nil {
		return err
	}
	return x.against.check(rec)
}

func (x exports) writeFiles(rec *record.Record, saved string) error {
	var failed []string
	for _, e := range [][2]string{{x.md, "md"}, {x.json, "json"}, {x.csv, "csv"}, {x.svg, "svg"}} {
		if e[0] == "" {
			continue
		}
		if err := report.Export(e[0], e[1], rec); err != nil {
			failed = append(failed, err.Error())
			continue
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", e[0])
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%s; the record is still saved in %s", strings.Join(failed, "; "), saved)
}

// runArgs are run's flags, bound.
type runArgs struct {
	o                    experiment.Options
	allocs, targetAllocs *string
	headless             *bool
	x                    exports
	against              *string
	gate                 gateFlags
	metricsAddr          *string
	// request holds -m, -H and -b (shared with load); targets is --targets.
	request       loadgen.Config
	targets       string
	metricsPublic *bool
	preset        *string
	cycles        *cycleFlags
	// The parameters a sweep can list: one value each, or a list on one of them.
	scenarios, conns, threads listFlag
}

// runFlags defines run's flags (also read by the shell completion).
func runFlags() (*pflag.FlagSet, *runArgs) {
	fs := newFlags("run")
	a := &runArgs{}
	o, x := &a.o, &a.x
	a.allocs = fs.String("allocators", strings.Join(servers.DefaultAllocators, ","), "lanes to compare, each [NAME=]ALLOCATOR[+VAR=VALUE]... (e.g. system,arena2=system+MALLOC_ARENA_MAX=2); allocators: "+strings.Join(servers.Names(), ", "))
	fs.BoolVar(&o.Preload, "preload", false, "run the system build with each allocator LD_PRELOADed instead of linked builds")
	fs.Var(targetsValue{&o.Targets}, "target", "add a target NAME=COMMAND (repeatable; {port} is replaced by a free port), or NAME=http://HOST:PORT/PATH for a service on another host (with --memory-from)")
	o.MemoryFrom = map[string]string{}
	fs.Var(memoryFromFlag(o.MemoryFrom), "memory-from", "NAME=prom+http://HOST:PORT/metrics?LABEL=VALUE or NAME=promql+http://HOST:PORT/?query=EXPR: where a remote target's memory is read (repeatable)")
	fs.Var(sameServerFlag{&o.SameServer}, "same-server", "NAME,NAME…: these --target lanes run one server (your own builds, one service on several hosts), so compare them with each other (repeatable; otherwise each --target is a server of its own)")
	a.targetAllocs = fs.String("target-allocators", "", "for --target commands: one lane per allocator, preloaded, in --allocators' syntax (e.g. system,jemalloc+MALLOC_CONF=narenas:2)")
	fs.Var(&a.scenarios, "scenario", "workload: "+strings.Join(experiment.ScenarioNames(), ", ")+" (default hello); a list (hello,json) sweeps it")
	fs.StringVar(&o.Path, "path", "", "request path instead of a scenario, e.g. '/alloc?count=100&size=4096'")
	requestFlags(fs, &a.request, &a.targets)
	loadCommandFlag(fs, o)
	a.conns = listFlag{numbers: true, values: []string{strconv.Itoa(experiment.DefaultConnections)}}
	fs.VarP(&a.conns, "connections", "c", "connections per target; a list (100,1000,10000) sweeps it")
	o.Duration = experiment.DefaultDuration
	fs.VarP(durationFlag{&o.Duration}, "duration", "d", "load duration: seconds or a Go duration")
	fs.IntVarP(&o.Pipelining, "pipelining", "p", 1, "pipelining depth per connection")
	fs.Float64VarP(&o.Rate, "R", "R", 0, "open loop: requests per second per target (latency corrected for coordinated omission)")
	fs.StringVar(&o.Engine, "engine", loadgen.EngineAuto, "load generator I/O: auto (io_uring where the kernel allows it, else epoll), epoll or io_uring")
	o.Interval, o.Baseline, o.Cooldown = experiment.DefaultInterval, experiment.DefaultBaseline, experiment.DefaultCooldown
	fs.Var(durationFlag{&o.Interval}, "interval", "sampling interval")
	fs.Var(durationFlag{&o.Baseline}, "baseline", "idle time before the load")
	fs.Var(durationFlag{&o.Cooldown}, "cooldown", "idle time after the load (the return-to-OS phase)")
	fs.BoolVar(&o.Sequential, "sequential", false, "load one target at a time, so they do not share the CPU")
	fs.IntVar(&o.Runs, "runs", 1, "repeat the experiment N times (report median and min–max)")
	fs.StringVar(&o.Bind, "bind", "127.0.0.1", "address the servers listen on")
	a.threads = listFlag{numbers: true}
	fs.Var(&a.threads, "threads", "server worker threads (default: cores); a list (2,8,16) sweeps it")
	fs.IntVar(&o.CPUs, "cpus", 0, "confine each server to N CPUs (its affinity, inherited from the start), as a container smaller than the host; a lane's +cpus=N wins")
	a.headless = fs.Bool("headless", false, "no TUI: progress on stderr, summary on stdout (implied when stdout is not a terminal)")
	fs.StringVar(&x.md, "export-markdown", "", "write the Markdown report to FILE")
	fs.StringVar(&x.json, "export-json", "", "write the run record (JSON, for report and replay) to FILE")
	fs.StringVar(&x.csv, "export-csv", "", "write one CSV row per target per sample to FILE")
	fs.StringVar(&x.svg, "export-svg", "", "write the RSS chart as SVG to FILE")
	fs.StringVar(&o.SavePath, "save", "", "where the run record is kept (default: a new file under "+runsDir()+")")
	a.against = fs.String("against", "", "when the run ends, compare it with this saved run (as allocscope compare BASE NEW)")
	a.gate = addGateFlags(fs, "with --against: exit 1 when a figure moved past a limit, e.g. 'peak_rss>+10%,rps<-5%', or a compared lane lost figures")
	a.metricsAddr = fs.String("metrics-addr", "", "serve the live figures for Prometheus at http://HOST:PORT/metrics (loopback unless --metrics-public)")
	a.metricsPublic = fs.Bool("metrics-public", false, "allow --metrics-addr on an address reachable from the network")
	addViewFlag(fs, &x.view)
	fs.BoolVar(&o.Cgroup, "cgroup", false, "run each target in a memory cgroup of its own and record what the kernel charges it (usage, exact peak, anon/file/kernel/socket, OOM events)")
	fs.Var(sizeFlag{&o.MemoryLimit}, "memory-limit", "run each target in its own memory cgroup limited to SIZE (e.g. 256MiB; no swap): an OOM kill is recorded as an event, the other targets go on")
	fs.BoolVar(&o.Fit, "fit", false, "find each target's smallest memory limit (within 5%) that completes the scenario with no OOM kill and at least 90% of its unlimited throughput")
	fs.IntVar(&o.FitTrials, "fit-trials", record.DefaultFitTrials, "with --fit: the most trials after the unlimited run")
	fs.BoolVar(&o.Strict, "strict", false, "refuse to run when an allocator ignored or rejected a lane's setting (a typo, another allocator's variable, an invalid MALLOC_CONF pair)")
	fs.BoolVar(&o.Purge, "purge", false, "after the cooldown, ask each allocator to give back what it can (GET /purge) and measure the RSS after purge")
	fs.Var(durationFlag{&o.PurgeWait}, "purge-wait", "with --purge: how long the purge phase measures (default 3s)")
	a.cycles = addCycleFlags(fs)
	a.preset = fs.String("preset", "", "a talk's shorthand for lanes and flags: "+presetNames()+" (flags given too win; --preset list describes them)")
	return fs, a
}

func newRunCmd() *cobra.Command {
	fs, a := runFlags()
	c := checksDryRun(command("run [flags]", "the whole experiment", fs, noArgs, func(args []string) error { return cmdRun(fs, a, args) }))
	allocators := listValue(servers.Names())
	c.RegisterFlagCompletionFunc("allocators", allocators)
	c.RegisterFlagCompletionFunc("target-allocators", allocators)
	c.RegisterFlagCompletionFunc("scenario", listValue(experiment.ScenarioNames()))
	presets := []string{"list"}
	for _, p := range experiment.Presets {
		presets = append(presets, p.Name)
	}
	c.RegisterFlagCompletionFunc("preset", words(presets...))
	c.RegisterFlagCompletionFunc("engine", words(loadgen.EngineAuto, loadgen.EngineEpoll, loadgen.EngineUring))
	return c
}

func cmdRun(fs *pflag.FlagSet, a *runArgs, args []string) error {
	for _, f := range []struct{ name, value, example string }{{"allocators", *a.allocs, "system,jemalloc"}, {"preset", *a.preset, "arenas"}} {
		if flagSet(fs, f.name) && strings.TrimSpace(f.value) == "" {
			return usagef("--%s is empty: give a value (e.g. --%s %s) or leave the flag out for the default", f.name, f.name, f.example)
		}
	}
	if *a.preset == "list" {
		for _, p := range experiment.Presets {
			fmt.Printf("%s: %s\n  %s\n", p.Name, p.Description, presetFlags(p))
		}
		return nil
	}
	if *a.preset != "" {
		if err := a.applyPreset(fs); err != nil {
			return err
		}
	}
	o, x, allocs, targetAllocs, headless := a.o, a.x, a.allocs, a.targetAllocs, a.headless
	var err error
	if len(args) > 0 {
		return usagef("run takes no arguments, got %q: flags start with -", args[0])
	}
	if err := a.sweep(&o); err != nil {
		return err
	}
	if err := a.cycles.apply(fs, &o); err != nil {
		return err
	}
	if err := checkLoadCommand(fs, o); err != nil {
		return err
	}
	if o.Mix, err = readMix(fs, a.targets); err != nil {
		return err
	}
	o.TargetsFile, o.Method, o.Headers, o.Body = a.targets, a.request.Method, a.request.Headers, a.request.Body
	// A swept -c is checked step by step, against the open-files limit too (Validate).
	counts := map[string]int{"-p (pipelining)": o.Pipelining, "--runs": o.Runs}
	if o.Sweep == nil || o.Sweep.Parameter != record.SweepConnections {
		counts["-c (connections)"] = o.Connections
	}
	if err := atLeastOne(counts); err != nil {
		return err
	}
	for _, v := range a.threads.values {
		if n, _ := strconv.Atoi(v); n < 1 {
			return usagef("--threads %d: use 1 to %d server threads (leave the flag out for one per core)", n, experiment.MaxThreads)
		}
	}
	if flagSet(fs, "fit-trials") && o.FitTrials < 1 {
		return usagef("--fit-trials %d: use 1 to 30", o.FitTrials)
	}
	if o.Duration <= 0 || o.Interval <= 0 {
		return usagef("-d and --interval must be above 0")
	}
	if flagSet(fs, "purge-wait") && o.PurgeWait <= 0 {
		return usagef("--purge-wait must be above 0 (e.g. 3s)")
	}
	if o.Allocators, o.Lanes, err = allocatorLanes(*allocs); err != nil {
		return err
	}
	if len(o.Targets) > 0 && !flagSet(fs, "allocators") {
		o.Allocators, o.Lanes = nil, nil
	}
	if o.TargetAllocators, o.TargetLanes, err = allocatorLanes(*targetAllocs); err != nil {
		return err
	}
	if o.Self, err = selfArgv(); err != nil {
		return err
	}
	o.Version = version
	o.AllowBusy = allowBusy(fs)
	if dryRun {
		return checkRunPlan(o, a)
	}
	for _, f := range []struct{ flag, path string }{{"--save", o.SavePath}, {"--export-markdown", x.md}, {"--export-json", x.json}, {"--export-csv", x.csv}, {"--export-svg", x.svg}} {
		if err := checkWritable(f.flag, f.path); err != nil {
			return err
		}
	}
	if o.SavePath == "" {
		if o.SavePath, err = newRunPath(); err != nil {
			return err
		}
	}
	e, err := experiment.New(o)
	if err == nil {
		x.against, err = newAgainst(*a.against, a.gate, e.Snapshot())
	}
	if err == nil && x.against != nil && o.AllowBusy {
		record.AllowBusy(x.against.base.Rec)
	}
	if err != nil {
		if !flagSet(fs, "save") {
			os.Remove(o.SavePath)
		}
		return usageError{planMessage(err)}
	}
	if plan := e.Options(); plan.Sweep != nil || plan.Runs > 1 || plan.Fit || sweepsValues(plan.Lanes) || plan.Cycled() {
		what := fmt.Sprintf("%d run(s)", plan.Runs)
		switch {
		case plan.Cycled() && plan.Soak > 0:
			what = fmt.Sprintf("a soak of %s in cycles of %s load and %s idle", plan.Soak, plan.Duration, plan.CycleIdle())
		case plan.Cycled():
			what = fmt.Sprintf("%d cycles of %s load and %s idle", plan.Cycles, plan.Duration, plan.CycleIdle())
		case plan.Fit:
			what = fmt.Sprintf("a --fit search: an unlimited run, then at most %d trials, the lanes side by side", plan.FitTrials)
		case plan.Sweep != nil:
			what = fmt.Sprintf("a sweep of %s over %s, %d run(s) each", plan.Sweep.Parameter, strings.Join(plan.Sweep.Values, ", "), plan.Runs)
		}
		fmt.Fprintf(os.Stderr, "allocscope: %s: %s\n", what, plan.Size())
	}
	if ip := net.ParseIP(o.Bind); ip != nil && !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "allocscope: warning: the servers listen on %s: their /hold, /large and /stats endpoints are then reachable from the network\n", o.Bind)
	}
	current := &currentRun{e: e}
	if *a.metricsAddr != "" {
		bound, stopMetrics, err := metrics.Serve(*a.metricsAddr, *a.metricsPublic, current.snapshot)
		if err != nil {
			if !flagSet(fs, "save") {
				os.Remove(o.SavePath)
			}
			return usageError{err.Error()}
		}
		defer stopMetrics()
		sayMetrics(bound)
	}
	x.current = current
	defer observe()()
	ctx, stop := onSignals()
	defer stop()
	if !*headless && term.IsTerminal(int(os.Stdout.Fd())) && term.IsTerminal(int(os.Stdin.Fd())) {
		return runTUI(ctx, e, x)
	}
	return runHeadless(ctx, e, x)
}

// memoryFromFlag collects --memory-from NAME=SOURCE.
type memoryFromFlag map[string]string

func (m memoryFromFlag) String() string { return "" }
func (m memoryFromFlag) Type() string   { return "value" }
func (m memoryFromFlag) Set(s string) error {
	name, src, ok := strings.Cut(s, "=")
	if !ok || name == "" || src == "" {
		return fmt.Errorf("%q: use NAME=prom+http://HOST:PORT/metrics?groupname=NAME", s)
	}
	m[name] = src
	return nil
}

// listFlag is a flag that takes one value or a comma-separated list (a sweep).
type listFlag struct {
	numbers bool
	values  []string
	set     bool
}

func (l *listFlag) String() string { return strings.Join(l.values, ",") }
func (l *listFlag) Type() string   { return "value" }
func (l *listFlag) Set(s string) error {
	l.values, l.set = nil, true
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return fmt.Errorf("%q has an empty value: list values like 2,8,16", s)
		}
		if l.numbers {
			if _, err := strconv.Atoi(v); err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
		}
		l.values = append(l.values, v)
	}
	return nil
}

// sweep applies the list-valued flags to o: single values as they are, a list as the
// plan's sweep. One parameter at a time.
func (a *runArgs) sweep(o *experiment.Options) error {
	var swept []string
	for _, p := range []struct {
		name  string
		param string
		l     *listFlag
	}{{"--threads", record.SweepThreads, &a.threads}, {"-c", record.SweepConnections, &a.conns}, {"--scenario", record.SweepScenario, &a.scenarios}} {
		switch {
		case len(p.l.values) > 1:
			swept = append(swept, p.name)
			o.Sweep = &record.Sweep{Parameter: p.param, Values: p.l.values}
		case len(p.l.values) == 1 && p.param == record.SweepThreads:
			o.Threads, _ = strconv.Atoi(p.l.values[0])
		case len(p.l.values) == 1 && p.param == record.SweepConnections:
			o.Connections, _ = strconv.Atoi(p.l.values[0])
		case len(p.l.values) == 1:
			o.Scenario = p.l.values[0]
		}
	}
	switch {
	case len(swept) > 1:
		return usagef("%s and %s both list values: sweep one parameter at a time", swept[0], swept[1])
	case len(swept) == 1 && swept[0] == "--scenario" && o.Path != "":
		return usagef("--path and a --scenario sweep: choose one")
	}
	return nil
}

// applyPreset sets what the preset names and the command line left unset.
func (a *runArgs) applyPreset(fs *pflag.FlagSet) error {
	p, err := experiment.LookupPreset(*a.preset)
	if err != nil {
		return usageError{err.Error()}
	}
	if !flagSet(fs, "allocators") {
		*a.allocs = p.Allocators
	}
	if !flagSet(fs, "scenario") && !flagSet(fs, "path") {
		if p.Path != "" {
			a.o.Path = p.Path
		} else {
			a.scenarios.Set(p.Scenario)
		}
	}
	if !flagSet(fs, "connections") && p.Connections > 0 {
		a.conns.Set(strconv.Itoa(p.Connections))
	}
	if !flagSet(fs, "threads") && p.Threads > 0 {
		a.threads.Set(strconv.Itoa(p.Threads))
	}
	if !flagSet(fs, "purge") && p.Purge {
		a.o.Purge = true
	}
	if !flagSet(fs, "duration") && p.Duration > 0 {
		a.o.Duration = p.Duration
	}
	a.cycles.preset(fs, p)
	return nil
}

func presetNames() string {
	var names []string
	for _, p := range experiment.Presets {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// presetFlags is the preset written as the flags it stands for.
func presetFlags(p experiment.Preset) string {
	out := fmt.Sprintf("--allocators '%s' --scenario %s -c %d", p.Allocators, p.Scenario, p.Connections)
	if p.Path != "" {
		out = fmt.Sprintf("--allocators '%s' --path '%s' -c %d", p.Allocators, p.Path, p.Connections)
	}
	if p.Threads > 0 {
		out += fmt.Sprintf(" --threads %d", p.Threads)
	}
	if p.Purge {
		out += " --purge"
	}
	if p.Duration > 0 {
		out += " -d " + p.Duration.String()
	}
	if p.Cycles > 0 {
		out += fmt.Sprintf(" --cycles %d --idle %s", p.Cycles, p.Idle)
	}
	return out
}

// writeStderr writes s to stderr with a raw write (rawio) when stderr takes it at once:
// the progress line follows each beat's burst, and a scheduler-aware write would wake
// Go's sysmon. A stderr that is full (a slow reader of a pipe) gets a normal write,
// which waits without holding the scheduler's P.
func writeStderr(s string) {
	b := []byte(s)
	if len(b) <= pipeBuf && rawio.Writable(2) {
		n, err := rawio.WriteAll(2, b)
		if err == nil {
			return
		}
		b = b[n:]
	}
	os.Stderr.Write(b)
}

// pipeBuf is PIPE_BUF: a write of at most this many bytes to a pipe poll(2) calls
// writable does not block.
const pipeBuf = 4096

// flagSet says whether the command line gave the flag.
func flagSet(fs *pflag.FlagSet, name string) bool { return fs.Changed(name) }

func runHeadless(ctx *interruptible, e *experiment.Experiment, x exports) error {
	e.Log = os.Stderr
	done := make(chan struct{})
	// The progress line follows the run's heartbeat, not a clock of its own: a phase
	// change or an event also notifies, so a line at most every half interval.
	go func() {
		var last time.Time
		for {
			select {
			case <-done:
				return
			case <-e.Changed():
				if now := time.Now(); now.Sub(last) >= e.Options().Interval/2 {
					last = now
					writeStderr(progressLine(e.Snapshot(), e.Phase()) + "\n")
				}
			}
		}
	}()
	rec, err := e.Run(ctx)
	close(done)
	saved := e.Options().SavePath
	if rec != nil && measuredAnything(rec) {
		var out bytes.Buffer
		if err := report.Summary(&out, rec); err != nil {
			fmt.Fprintln(os.Stderr, "allocscope: the summary could not be rendered: "+err.Error())
		}
		os.Stdout.Write(out.Bytes())
	}
	if e.SaveErr() == nil {
		fmt.Fprintf(os.Stderr, "run record saved to %s; view it with allocscope report %s or allocscope replay %s\n", saved, saved, saved)
	}
	exportErr := x.write(rec, saved)
	if errors.Is(err, context.Canceled) {
		if exportErr != nil {
			fmt.Fprintln(os.Stderr, "allocscope: "+exportErr.Error())
		}
		if sig := ctx.interrupted(); sig != nil {
			return sig
		}
		return signalExit{sig: syscall.SIGINT, measured: true}
	}
	if err != nil {
		return err
	}
	if exportErr != nil {
		return exportErr
	}
	return incomplete(rec)
}

// incomplete is an error when the load against some target died: its figures are not
// whole, so the run must not pass as a complete measurement (a crashed server is a
// finding, reported as such, not a failure of the tool).
func incomplete(rec *record.Record) error {
	for _, t := range rec.Targets {
		for _, run := range t.Runs {
			if run.LoadError != "" {
				return fmt.Errorf("the load against %s ended without a result (%s): the record says so and keeps the rest", t.Name, run.LoadError)
			}
		}
	}
	return nil
}

// currentRate is the last second's rate of this load, "—" while none is in: no tick
// since this load (this cycle's) began, or only its first with nothing answered yet,
// which is the workers starting, not a server answering nothing.
func currentRate(run record.TargetRun) string {
	start := run.Phases.LoadStart
	if n := len(run.Cycles); n > 0 {
		start = run.Cycles[n-1].LoadStart
	}
	var ticks []record.LoadTick
	for _, t := range run.Load {
		if t.T > start {
			ticks = append(ticks, t)
		}
	}
	n := len(ticks)
	if n == 0 || (n == 1 && ticks[0].Requests == 0 && ticks[0].Errors == 0) {
		return "—"
	}
	return units.Count(float64(ticks[n-1].Requests))
}

// progressLine is one stderr line per interval: phase, then each target's RSS and rate.
func progressLine(r *record.Record, phase record.Phase) string {
	t := time.Since(r.Started).Seconds()
	parts := []string{fmt.Sprintf("%5.1fs %-8s", t, phase)}
	if c := report.CycleLabel(r, time.Since(r.Started)); c != "" {
		parts[0] += " " + c
	}
	for _, tg := range r.Targets {
		if len(tg.Runs) == 0 {
			continue
		}
		run := tg.Runs[len(tg.Runs)-1]
		s := tg.Name
		if n := len(run.Samples); n > 0 {
			s += " rss " + units.MiBs(float64(run.Samples[n-1].RSSBytes))
		}
		if n := len(run.Samples); n > 0 && run.Samples[n-1].CgroupBytes > 0 {
			s += " cgroup " + units.MiBs(float64(run.Samples[n-1].CgroupBytes))
		}
		if phase == record.PhaseLoad {
			s += " " + currentRate(run) + " req/s"
		}
		if run.Exit.Crashed() {
			s += " " + run.Exit.String()
		}
		if run.LoadError != "" {
			s += " load worker died"
		}
		parts = append(parts, s)
	}
	if in := r.Interference; in != nil && len(in.Series) > 0 && in.Series[len(in.Series)-1].OtherPct > record.BusyOtherPct {
		parts = append(parts, fmt.Sprintf("busy: %.0f%% other work", in.Series[len(in.Series)-1].OtherPct))
	}
	return strings.Join(parts, " | ")
}

// selfArgv runs this same binary for load workers and guards.
func selfArgv() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find allocscope's own binary to start load workers: %w", err)
	}
	return []string{exe}, nil
}

func runsDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "allocscope", "runs")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "allocscope", "runs")
	}
	return filepath.Join(os.TempDir(), "allocscope-runs")
}

// newRunPath creates a fresh, empty file for a run record, exclusively, so that two runs
// started in the same second never share one; the temp dir when the state dir is not
// writable.
func newRunPath() (string, error) {
	stamp := "run-" + time.Now().Format("20060102-150405")
	var lastErr error
	for _, dir := range []string{runsDir(), os.TempDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			lastErr = err
			continue
		}
		for n := 1; n < 1000; n++ {
			name := stamp + ".json"
			if n > 1 {
				name = fmt.Sprintf("%s-%d.json", stamp, n)
			}
			path := filepath.Join(dir, name)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if errors.Is(err, os.ErrExist) {
				continue
			}
			if err != nil {
				lastErr = err
				break
			}
			f.Close()
			return path, nil
		}
	}
	return "", fmt.Errorf("cannot create a run record file under %s: %v: give one with --save FILE", runsDir(), lastErr)
}

// checkWritable refuses, before anything starts, a file that could not be written at the end.
func checkWritable(flag, path string) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usagef("%s %s: directory %s does not exist", flag, path, dir)
	}
	f, err := os.CreateTemp(dir, ".allocscope-check-*")
	if err != nil {
		return usagef("%s %s: cannot write in %s (%v)", flag, path, dir, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func loadWorkerMain(args []string) int {
	return loadgen.ServeWorker(os.Stdin, os.Stdout)
}

// allocatorLanes reads an --allocators list of lanes ([NAME=]ALLOCATOR[+VAR=VALUE]...):
// each lane's allocator, and the lanes.
func allocatorLanes(list string) ([]string, []servers.Lane, error) {
	if list == "" {
		return nil, nil, nil
	}
	lanes, err := servers.ParseLanes(list)
	if err != nil {
		return nil, nil, usageError{err.Error()}
	}
	allocs := make([]string, len(lanes))
	for i, l := range lanes {
		allocs[i] = l.Allocator
	}
	return allocs, lanes, nil
}

// sweepsValues says whether some lane came from a list of values ({1,2,4}).
func sweepsValues(lanes []servers.Lane) bool {
	for _, l := range lanes {
		if len(l.Values) > 0 {
			return true
		}
	}
	return false
}

// measuredAnything is false when the run failed before any target started.
func measuredAnything(r *record.Record) bool {
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			if len(run.Samples) > 0 {
				return true
			}
		}
	}
	return false
}

// sayMetrics names where --metrics-addr serves, once: with port 0 the kernel picked it.
func sayMetrics(bound net.Addr) {
	fmt.Fprintf(os.Stderr, "allocscope: metrics at http://%s/metrics\n", bound)
}

// sameServerFlag collects --same-server NAME,NAME… groups.
type sameServerFlag struct{ groups *[][]string }

func (f sameServerFlag) String() string { return "" }
func (f sameServerFlag) Type() string   { return "value" }
func (f sameServerFlag) Set(s string) error {
	var names []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	*f.groups = append(*f.groups, names)
	return nil
}
