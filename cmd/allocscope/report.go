package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/tui"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

func newReportCmd() *cobra.Command {
	fs := newFlags("report")
	format := fs.String("format", "", "md, json, csv, svg or png (default: from -o's extension, else md)")
	out := fs.StringP("o", "o", "", "write to FILE (atomically) instead of stdout")
	metric := fs.String("metric", "rss", "svg and png: what to chart, one panel each over a shared time axis: "+strings.Join(report.ChartMetricNames(), ", ")+" (e.g. rss,rps)")
	fs.String("chart", "", "svg and png: "+report.ChartPareto+" draws the trade-off instead: memory against req/s and p99, each lane labelled, the Pareto front joined")
	addAllowBusy(fs)
	// report compares the lanes of one run, not runs.
	fs.Lookup("allow-busy").Usage = fmt.Sprintf("compare the lanes and draw conclusions even when other work kept the machine busy during the run (over %.0f%% of its CPU under load)", record.BusyOtherPct)
	c := checksDryRun(command("report RUN.json|TUNE.json [--format md|json|csv|svg|png] [--metric LIST] [-o FILE]", "a saved run as Markdown, JSON, CSV, SVG or PNG (a tune search as Markdown or JSON)", fs, fileArgs("json"),
		func(args []string) error { return cmdReport(fs, *format, *out, *metric, args) }))
	c.RegisterFlagCompletionFunc("format", words(report.Formats...))
	c.RegisterFlagCompletionFunc("chart", words(report.ChartPareto))
	return c
}

func cmdReport(fs *pflag.FlagSet, format, out, metric string, args []string) error {
	if dryRun {
		return checkReportArgs(args, format, out)
	}
	if len(args) == 1 {
		path := tuneFile(args[0])
		if data, outs, ok := readTune(path); ok {
			return reportTune(path, data, outs, format, out, flagSet(fs, "metric") || flagSet(fs, "chart"))
		}
	}
	rec, err := recordArg("report", args)
	if err != nil {
		return err
	}
	if allowBusy(fs) {
		record.AllowBusy(rec)
	}
	// The default chart (RSS) is drawn even empty, as a record of a run killed before its
	// first sample is; a metric asked for by name must have figures.
	var metrics []string
	if flagSet(fs, "metric") {
		metrics = strings.Split(metric, ",")
		if err := report.CheckMetrics(rec, metrics); err != nil {
			return usageError{"--metric: " + err.Error()}
		}
	}
	switch chart := fs.Lookup("chart").Value.String(); {
	case chart == report.ChartPareto && flagSet(fs, "metric"):
		return usagef("--chart %s and --metric both set: the trade-off chart draws memory, req/s and p99; choose one", chart)
	case chart == report.ChartPareto:
		if _, ok := report.ParetoFront(rec); !ok {
			return usagef("--chart %s: this run has no trade-off to draw: it needs two lanes or more that finished, and no sweep of --threads, -c or --scenario", chart)
		}
		metrics = []string{report.ChartPareto}
	case chart != "":
		return usagef("--chart %q: the one chart by name is %s (leave --chart out for the time series)", chart, report.ChartPareto)
	}
	f := format
	if f == "" && out != "" {
		known, ok := report.FormatFromPath(out)
		if !ok {
			return usagef("-o %s: cannot tell the format from its extension: name it .md, .json, .csv, .svg or .png, or give --format", out)
		}
		f = known
	}
	if f == "" {
		f = "md"
	}
	if !validFormat(f) {
		return usagef("unknown format %q: choose from %s", f, strings.Join(report.Formats, ", "))
	}
	if len(metrics) == 1 && metrics[0] == report.ChartPareto && !strings.EqualFold(f, "svg") && !strings.EqualFold(f, "png") {
		return usagef("--chart %s draws a chart: add --format svg or png, or -o FILE.svg", report.ChartPareto)
	}
	if out != "" {
		return report.ExportCharted(out, f, rec, metrics)
	}
	if strings.EqualFold(f, "png") && term.IsTerminal(int(os.Stdout.Fd())) {
		return usagef("a PNG is not for a terminal: write it with -o FILE.png")
	}
	var buf bytes.Buffer
	if err := report.WriteCharted(&buf, rec, f, metrics); err != nil {
		return err
	}
	_, err = os.Stdout.Write(buf.Bytes())
	return err
}

func validFormat(f string) bool {
	for _, x := range append(report.Formats, "markdown") {
		if strings.EqualFold(f, x) {
			return true
		}
	}
	return false
}

// loadRecord reads a run record; anything that is not one is the user's input error.
func loadRecord(path string) (*record.Record, error) {
	rec, err := record.Load(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, usagef("no such file %s", path)
		}
		return nil, usageError{err.Error()}
	}
	return rec, nil
}

// recordArg loads the one run record command takes.
func recordArg(command string, args []string) (*record.Record, error) {
	if len(args) > 1 {
		return nil, usagef("%s takes one run record, got %q too", command, args[1])
	}
	if len(args) == 0 {
		return nil, usagef("%s needs a run record: allocscope %s RUN.json", command, command)
	}
	return loadRecord(args[0])
}

func newReplayCmd() *cobra.Command {
	fs := newFlags("replay")
	var view viewFlag
	addViewFlag(fs, &view)
	return checksDryRun(command("replay RUN.json [--view panels|chart]", "a saved run in the TUI", fs, fileArgs("json"),
		func(args []string) error { return cmdReplay(view, args) }))
}

func cmdReplay(view viewFlag, args []string) error {
	if dryRun {
		return checkRecordArgs("replay", args)
	}
	rec, err := recordArg("replay", args)
	if err != nil {
		return err
	}
	ctx, stop := onSignals()
	defer stop()
	if err := tui.Run(ctx, tui.Replay(rec).WithView(string(view))); err != nil {
		return err
	}
	// Ended by a signal: its exit status (143 for SIGTERM), as a shell expects.
	if sig := ctx.signal(); sig != 0 {
		return signalExit{sig: sig}
	}
	return nil
}
