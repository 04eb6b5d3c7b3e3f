package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/allocscope/allocscope/experiment"
	"github.com/allocscope/allocscope/loadgen/external"
	"github.com/spf13/pflag"
)

// loadCommandFlag defines run's --load-command: the user's own load tool per lane.
func loadCommandFlag(fs *pflag.FlagSet, o *experiment.Options) {
	fs.StringVar(&o.ExternalLoad, "load-command", "", "load each target with your own tool instead of the built-in generator, e.g. 'wrk -t2 -c{connections} -d{duration} --latency {url}' (placeholders: {"+strings.Join(external.Placeholders, "}, {")+"}; run by sh -c, each value one shell word)")
	fs.Var(durationFlag{&o.ExternalGrace}, "load-command-grace", fmt.Sprintf("with --load-command: how long it may run past its load phase (start-up, its summary) before it is stopped (default %s)", external.DefaultGrace))
}

// builtinLoadFlags are the flags of the built-in generator, which a load command replaces.
var builtinLoadFlags = []string{"targets", "method", "headers", "body", "pipelining", "R", "engine"}

// checkLoadCommand refuses --load-command beside the built-in generator's flags, and says
// when every lane runs the same command.
func checkLoadCommand(fs *pflag.FlagSet, o experiment.Options) error {
	if !flagSet(fs, "load-command") {
		if flagSet(fs, "load-command-grace") {
			return usagef("--load-command-grace without --load-command: it bounds your own load command")
		}
		return nil
	}
	if flagSet(fs, "load-command-grace") && o.ExternalGrace <= 0 {
		return usagef("--load-command-grace %s: give it a time above 0 (e.g. 30s), or leave the flag out for %s", o.ExternalGrace, external.DefaultGrace)
	}
	tmpl, err := external.ParseTemplate(o.ExternalLoad)
	if err != nil {
		return usageError{err.Error()}
	}
	for _, name := range builtinLoadFlags {
		if flagSet(fs, name) {
			f := "--" + name
			if len(name) == 1 {
				f = "-" + name
			} else if sh := fs.Lookup(name).Shorthand; sh != "" {
				f = "-" + sh
			}
			return usagef("--load-command and %s both set: %s is the built-in generator's; give it to your load tool in its own syntax", f, f)
		}
	}
	if !tmpl.PerLane() {
		fmt.Fprintln(os.Stderr, "allocscope: warning: --load-command names no {url}, {host} or {port}: every target runs the same command, which must find its target itself")
	}
	return nil
}
