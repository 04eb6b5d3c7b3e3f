package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/allocscope/allocscope/experiment"
	"github.com/allocscope/allocscope/metrics"
	"github.com/allocscope/allocscope/tui"
	"github.com/allocscope/allocscope/units"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// watchArgs are watch's flags, bound.
type watchArgs struct {
	o             experiment.WatchOptions
	x             exports
	headless      *bool
	metricsAddr   *string
	metricsPublic *bool
}

func newWatchCmd() *cobra.Command {
	fs := newFlags("watch")
	a := &watchArgs{}
	o, x := &a.o, &a.x
	o.Interval = time.Second
	fs.Var(durationFlag{&o.Interval}, "interval", "sampling interval")
	fs.Var(durationFlag{&o.Duration}, "duration", "stop after this long (default: until q/Ctrl-C or every process exited)")
	fs.BoolVar(&o.Tree, "tree", false, "include each process's descendants")
	fs.StringVar(&x.md, "export-markdown", "", "write the seed's | # | RSS | VSZ | table per PID to FILE")
	fs.StringVar(&x.json, "export-json", "", "write the record (JSON) to FILE")
	fs.StringVar(&x.csv, "export-csv", "", "write CSV to FILE")
	a.headless = fs.Bool("headless", false, "one line per interval instead of the TUI (implied when stdout is not a terminal)")
	a.metricsAddr = fs.String("metrics-addr", "", "serve the live figures for Prometheus at http://HOST:PORT/metrics (loopback unless --metrics-public)")
	a.metricsPublic = fs.Bool("metrics-public", false, "allow --metrics-addr on an address reachable from the network")
	addViewFlag(fs, &x.view)
	return checksDryRun(command("watch PID... [--interval 1s] [--duration D] [--tree] [--export-markdown FILE] [--headless]", "RSS/VSZ of running processes", fs, pids,
		func(pids []string) error { return cmdWatch(a, pids) }))
}

func cmdWatch(a *watchArgs, pidArgs []string) error {
	o, x, headless := &a.o, &a.x, a.headless
	if len(pidArgs) == 0 {
		return usagef("watch needs at least one PID, e.g. allocscope watch $(pgrep nginx)")
	}
	if dryRun {
		return checkWatchArgs(*o, pidArgs)
	}
	seen := map[int]bool{}
	for _, a := range pidArgs {
		pid, err := strconv.Atoi(a)
		if err != nil || pid <= 0 {
			return usagef("%q is not a process ID: PIDs are positive whole numbers", a)
		}
		if seen[pid] {
			return usagef("PID %d is given twice: name each process once", pid)
		}
		seen[pid] = true
		o.PIDs = append(o.PIDs, pid)
	}
	if o.Interval < 50*time.Millisecond || o.Interval > time.Minute {
		return usagef("--interval %s: use 50ms to 1m", o.Interval)
	}
	o.Version = version
	var err error
	if o.SavePath, err = newRunPath(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *a.metricsAddr != "" {
		if err := metrics.CheckAddr(*a.metricsAddr, *a.metricsPublic); err != nil {
			return usageError{err.Error()}
		}
	}
	w, err := experiment.StartWatch(ctx, *o)
	if err != nil {
		return usageError{err.Error()}
	}
	if *a.metricsAddr != "" {
		bound, stopMetrics, err := metrics.Serve(*a.metricsAddr, *a.metricsPublic, w.Snapshot)
		if err != nil {
			cancel()
			<-w.Done()
			return usageError{err.Error()}
		}
		defer stopMetrics()
		sayMetrics(bound)
	}
	defer observe()()
	if !*headless && term.IsTerminal(int(os.Stdout.Fd())) && term.IsTerminal(int(os.Stdin.Fd())) {
		err = tui.Run(ctx, tui.Watch(w).WithView(string(a.x.view)))
		cancel()
	} else {
	lines:
		for {
			select {
			case <-w.Done():
				break lines
			case <-w.Changed():
			}
			rec := w.Snapshot()
			var parts []string
			for _, t := range rec.Targets {
				run := t.Runs[0]
				switch {
				case run.Exit != nil:
					parts = append(parts, t.Name+" exited")
				case len(run.Samples) > 0:
					s := run.Samples[len(run.Samples)-1]
					parts = append(parts, fmt.Sprintf("%s rss %s KiB vsz %s KiB cpu %.0f%%", t.Name, units.WholeKiBs(s.RSSBytes), units.WholeKiBs(s.VSZBytes), s.CPUPercent))
				}
			}
			fmt.Printf("%6.1fs  %s\n", time.Since(rec.Started).Seconds(), strings.Join(parts, " | "))
		}
	}
	<-w.Done()
	fmt.Fprintf(os.Stderr, "watch record saved to %s\n", w.SavePath())
	if exportErr := x.write(w.Snapshot(), w.SavePath()); exportErr != nil {
		err = exportErr
	}
	return err
}
