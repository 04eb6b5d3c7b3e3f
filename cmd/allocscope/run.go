package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/allocscope/allocscope/experiment"
	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/servers"
	"golang.org/x/term"
)

type targetsValue struct{ t *[]experiment.CustomTarget }

func (v targetsValue) String() string { return "" }
func (v targetsValue) Set(s string) error {
	name, cmd, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(cmd) == "" {
		return fmt.Errorf("--target %q: use NAME=COMMAND, with {port} where the port goes", s)
	}
	*v.t = append(*v.t, experiment.CustomTarget{Name: strings.TrimSpace(name), Command: cmd})
	return nil
}

// exports are the --export-* files of a run.
type exports struct{ md, json, csv, svg string }

// write writes every requested export, the others even when one fails. The error names
// each file that failed and where the record is still saved; main prints it once.
func (x exports) write(rec *record.Record, saved string) error {
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

func cmdRun(args []string) error {
	fs := newFlags("run", "run [flags]")
	var o experiment.Options
	allocs := fs.String("allocators", strings.Join(servers.DefaultAllocators, ","), "allocators to compare: "+strings.Join(servers.Names(), ", "))
	fs.BoolVar(&o.Preload, "preload", false, "run the system build with each allocator LD_PRELOADed instead of linked builds")
	fs.Var(targetsValue{&o.Targets}, "target", "add a target NAME=COMMAND (repeatable; {port} is replaced by a free port)")
	targetAllocs := fs.String("target-allocators", "", "for --target commands: one lane per allocator, preloaded (e.g. system,jemalloc)")
	fs.StringVar(&o.Scenario, "scenario", "", "workload: "+strings.Join(experiment.ScenarioNames(), ", ")+" (default hello)")
	fs.StringVar(&o.Path, "path", "", "request path instead of a scenario, e.g. '/alloc?count=100&size=4096'")
	fs.IntVar(&o.Connections, "c", experiment.DefaultConnections, "connections per target")
	o.Duration = experiment.DefaultDuration
	fs.Var(durationFlag{&o.Duration}, "d", "load duration: seconds or a Go duration")
	fs.IntVar(&o.Pipelining, "p", 1, "pipelining depth per connection")
	fs.Float64Var(&o.Rate, "R", 0, "open loop: requests per second per target (latency corrected for coordinated omission)")
	fs.StringVar(&o.Engine, "engine", loadgen.EngineAuto, "load generator I/O: auto (io_uring where the kernel allows it, else epoll), epoll or io_uring")
	o.Interval, o.Baseline, o.Cooldown = experiment.DefaultInterval, experiment.DefaultBaseline, experiment.DefaultCooldown
	fs.Var(durationFlag{&o.Interval}, "interval", "sampling interval")
	fs.Var(durationFlag{&o.Baseline}, "baseline", "idle time before the load")
	fs.Var(durationFlag{&o.Cooldown}, "cooldown", "idle time after the load (the return-to-OS phase)")
	fs.BoolVar(&o.Sequential, "sequential", false, "load one target at a time, so they do not share the CPU")
	fs.IntVar(&o.Runs, "runs", 1, "repeat the experiment N times (report median and min–max)")
	fs.StringVar(&o.Bind, "bind", "127.0.0.1", "address the servers listen on")
	fs.IntVar(&o.Threads, "threads", 0, "server worker threads (default: cores)")
	headless := fs.Bool("headless", false, "no TUI: progress on stderr, summary on stdout (implied when stdout is not a terminal)")
	var x exports
	fs.StringVar(&x.md, "export-markdown", "", "write the Markdown report to FILE")
	fs.StringVar(&x.json, "export-json", "", "write the run record (JSON, for report and replay) to FILE")
	fs.StringVar(&x.csv, "export-csv", "", "write one CSV row per target per sample to FILE")
	fs.StringVar(&x.svg, "export-svg", "", "write the RSS chart as SVG to FILE")
	fs.StringVar(&o.SavePath, "save", "", "where the run record is kept (default: a new file under "+runsDir()+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("run takes no arguments, got %q: flags start with -", fs.Arg(0))
	}
	if err := atLeastOne(map[string]int{"-c (connections)": o.Connections, "-p (pipelining)": o.Pipelining, "--runs": o.Runs}); err != nil {
		return err
	}
	if o.Duration <= 0 || o.Interval <= 0 {
		return usagef("-d and --interval must be above 0")
	}
	var err error
	if o.Allocators, err = allocatorNames(*allocs); err != nil {
		return err
	}
	if len(o.Targets) > 0 && !flagSet(fs, "allocators") {
		o.Allocators = nil
	}
	if o.TargetAllocators, err = allocatorNames(*targetAllocs); err != nil {
		return err
	}
	if o.Self, err = selfArgv(); err != nil {
		return err
	}
	o.Version = version
	if o.SavePath == "" {
		o.SavePath = newRunPath()
	}
	e, err := experiment.New(o)
	if err != nil {
		return usageError{err.Error()}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if !*headless && term.IsTerminal(int(os.Stdout.Fd())) && term.IsTerminal(int(os.Stdin.Fd())) {
		return runTUI(ctx, e, x)
	}
	return runHeadless(ctx, e, x)
}

func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

func runHeadless(ctx context.Context, e *experiment.Experiment, x exports) error {
	e.Log = os.Stderr
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(e.Options().Interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintln(os.Stderr, progressLine(e.Snapshot(), e.Phase()))
			}
		}
	}()
	rec, err := e.Run(ctx)
	close(done)
	saved := e.Options().SavePath
	if rec != nil && measuredAnything(rec) {
		var out bytes.Buffer
		report.Summary(&out, rec)
		os.Stdout.Write(out.Bytes())
	}
	fmt.Fprintf(os.Stderr, "run record saved to %s (allocscope report %s | allocscope replay %s)\n", saved, saved, saved)
	exportErr := x.write(rec, saved)
	if errors.Is(err, context.Canceled) {
		if exportErr != nil {
			fmt.Fprintln(os.Stderr, "allocscope: "+exportErr.Error())
		}
		fmt.Fprintln(os.Stderr, "allocscope: interrupted: the record holds what was measured until then")
		os.Exit(130)
	}
	if err != nil {
		return err
	}
	return exportErr
}

// progressLine is one stderr line per interval: phase, then each target's RSS and rate.
func progressLine(r *record.Record, phase string) string {
	t := time.Since(r.Started).Seconds()
	parts := []string{fmt.Sprintf("%5.1fs %-8s", t, phase)}
	for _, tg := range r.Targets {
		if len(tg.Runs) == 0 {
			continue
		}
		run := tg.Runs[len(tg.Runs)-1]
		s := tg.Name
		if n := len(run.Samples); n > 0 {
			s += " rss " + report.MiB(float64(run.Samples[n-1].RSSBytes))
		}
		if n := len(run.Load); n > 0 && phase == record.PhaseLoad {
			s += " " + report.Rate(float64(run.Load[n-1].Requests)) + " req/s"
		}
		if run.Exit.Crashed() {
			s += " " + run.Exit.String()
		}
		parts = append(parts, s)
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

// newRunPath picks a fresh file for a run record, falling back to the temp dir.
func newRunPath() string {
	name := "run-" + time.Now().Format("20060102-150405") + ".json"
	dir := runsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, name)
}

func loadWorkerMain(args []string) int {
	return loadgen.ServeWorker(os.Stdin, os.Stdout)
}

// allocatorNames checks a comma-separated allocator list; "" gives none.
func allocatorNames(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	allocs, err := servers.ParseAllocators(list)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	names := make([]string, len(allocs))
	for i, a := range allocs {
		names[i] = a.Name
	}
	return names, nil
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
