package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/allocscope/allocscope/experiment"
	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/verdict"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// dryRun stops each command that honours it once its flags are parsed and its plan is
// checked, before it reads a file, starts a process or opens a socket: the examples
// test checks every command the docs show this way. Only that test sets it.
var dryRun bool

// dryRunAnnotation marks a command whose run honours dryRun; the examples test parses
// the other commands' flags and arguments and runs nothing of theirs.
const dryRunAnnotation = "allocscope/dry-run"

// checksDryRun marks c as honouring dryRun.
func checksDryRun(c *cobra.Command) *cobra.Command {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[dryRunAnnotation] = "yes"
	return c
}

// dryRunLimits are the largest a Linux machine allows, so that an example's -c is judged
// against the kernel's bounds, not this machine's settings.
var dryRunLimits = loadgen.Limits{OpenFiles: 1 << 20, EphemeralPorts: 65535 - 1024}

// checkRunPlan is run's dry run: the plan validated as it would be before the run,
// with the files it names and the remote sources it reads left alone.
func checkRunPlan(o experiment.Options, a *runArgs) error {
	o.Offline, o.Limits = true, dryRunLimits
	if err := o.WithDefaults().Validate(); err != nil {
		return usageError{planMessage(err)}
	}
	if failIf := *a.gate.failIf; failIf != "" {
		if *a.against == "" {
			return usagef("--fail-if needs --against BASE.json to compare with")
		}
		if _, err := verdict.ParseGate(failIf); err != nil {
			return usageError{err.Error()}
		}
	}
	return nil
}

// checkRecordArgs is report's and replay's dry run: one record named, not read.
func checkRecordArgs(command string, args []string) error {
	if len(args) > 1 {
		return usagef("%s takes one run record, got %q too", command, args[1])
	}
	if len(args) == 0 {
		return usagef("%s needs a run record: allocscope %s RUN.json", command, command)
	}
	return nil
}

// checkReportArgs adds report's format, told by --format or -o's extension.
func checkReportArgs(args []string, format, out string) error {
	if err := checkRecordArgs("report", args); err != nil {
		return err
	}
	if format == "" && out != "" {
		if _, ok := report.FormatFromPath(out); !ok {
			return usagef("-o %s: cannot tell the format from its extension: name it .md, .json, .csv, .svg or .png, or give --format", out)
		}
	}
	if format != "" && !validFormat(format) {
		return usagef("unknown format %q: choose from %s", format, strings.Join(report.Formats, ", "))
	}
	return nil
}

// checkLoadPlan is load's dry run: a URL or a --targets file named (not read), and the
// load's bounds.
func checkLoadPlan(fs *pflag.FlagSet, cfg loadgen.Config, targets string, args []string) error {
	if len(args) == 0 && targets == "" {
		return usagef("load needs a URL, e.g. allocscope load http://127.0.0.1:3000/ -c 100 -d 10")
	}
	if flagSet(fs, "duration") && cfg.Duration <= 0 {
		return usagef("-d %s: the duration must be above 0", cfg.Duration)
	}
	if err := atLeastOne(map[string]int{"-c (connections)": cfg.Connections, "-p (pipelining)": cfg.Pipelining}); err != nil {
		return err
	}
	cfg.URL = "http://127.0.0.1/"
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	return nil
}

// checkWatchArgs is watch's dry run: process IDs given (an example's may be a
// placeholder, PID or $(pgrep nginx)).
func checkWatchArgs(o experiment.WatchOptions, pids []string) error {
	for _, p := range pids {
		if n, err := strconv.Atoi(p); err == nil && n <= 0 {
			return usagef("%q is not a process ID: PIDs are positive whole numbers", p)
		}
	}
	if o.Interval < 50*time.Millisecond || o.Interval > time.Minute {
		return usagef("--interval %s: use 50ms to 1m", o.Interval)
	}
	return nil
}
