// Command allocscope shows, live and side by side, what memory allocators do to a real
// server under load. Run `allocscope help` for the subcommands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/experiment"
	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/servers"
	"github.com/spf13/cobra"
)

const usage = `allocscope — compare memory allocators on a real server under load

usage:
  allocscope run [flags]              the whole experiment (TUI in a terminal, headless otherwise)
  allocscope replay RUN.json          a saved run in the TUI (←/→ to scrub)
  allocscope report RUN.json [flags]  a saved run as Markdown, JSON, CSV or SVG
  allocscope compare BASE.json NEW.json [flags]  ratios to a base run, tested; --fail-if gates CI
  allocscope tune --allocators A [flags]  search an allocator's settings for the least memory within bounds
  allocscope load URL [flags]         the load generator on its own (autocannon's flags)
  allocscope watch PID... [flags]     RSS/VSZ of running processes
  allocscope servers build [flags]    build the server once per allocator (cached)
  allocscope servers list             allocators: available or why not, binaries, versions
  allocscope version                  this build's version
  allocscope completion bash|zsh|fish a shell completion script (source <(allocscope completion bash))

Run 'allocscope COMMAND -h' for a command's flags.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// errUsage marks errors caused by the user's input: exit code 2.
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
func (e usageError) Unwrap() error { return errUsage }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		err = cmdRun(rest)
	case "replay":
		err = cmdReplay(rest)
	case "report":
		err = cmdReport(rest)
	case "load":
		err = cmdLoad(rest)
	case "tune":
		err = cmdTune(rest)
	case "compare":
		err = cmdCompare(rest)
	case "watch":
		err = cmdWatch(rest)
	case "servers":
		err = cmdServers(rest)
	case "version", "--version":
		fmt.Println("allocscope", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	case "completion":
		err = cmdCompletion(rest)
	case cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
		return completeMain(args)
	case servers.GuardCommand:
		return guardMain(rest)
	case cgroup.ExecCommand:
		return cgroup.RunExec(rest)
	case loadgen.WorkerCommand:
		return loadWorkerMain(rest)
	default:
		fmt.Fprintf(os.Stderr, "allocscope: unknown command %q: run 'allocscope help' for the list\n", cmd)
		return 2
	}
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(os.Stderr, "allocscope: "+oneLine(err.Error()))
	var sig signalExit
	if errors.As(err, &sig) {
		return 128 + int(sig.sig)
	}
	if errors.Is(err, errUsage) || errors.Is(err, experiment.ErrPlan) || errors.Is(err, experiment.ErrRefused) {
		return 2
	}
	return 1
}

// oneLine keeps multi-line errors (a build's output) readable but leads with the cause.
func oneLine(s string) string { return strings.TrimRight(s, "\n") }

// newFlags returns a FlagSet that reports errors instead of exiting, so they get exit code 2.
func newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: allocscope %s\n\nflags:\n", synopsis)
		printFlags(fs.Output(), fs)
	}
	return fs
}

// printFlags lists a command's flags GNU-style, as the README does: --long, and -x for
// one-letter flags (the flag package would print -long). Either spelling parses.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		typ, usage := flag.UnquoteUsage(f)
		if _, ok := f.Value.(durationFlag); ok {
			typ = "duration"
		}
		if typ != "" {
			name += " " + typ
		}
		line := "  " + name
		if def := f.DefValue; def != "" && def != "0" && def != "false" && def != "0s" && def != "[]" {
			usage += fmt.Sprintf(" (default %s)", def)
		}
		if len(line) <= 24 {
			fmt.Fprintf(w, "%-26s%s\n", line, usage)
		} else {
			fmt.Fprintf(w, "%s\n%26s%s\n", line, "", usage)
		}
	})
}

// parseWithArgs parses flags that may come after positional arguments, as autocannon's
// and most tools' do (`compare A.json B.json --format md`), and returns the positionals.
// Flags and positionals may alternate (`watch --headless PID --duration 2s`); after
// "--" everything is positional.
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		for len(args) > 0 && (args[0] == "-" || !strings.HasPrefix(args[0], "-")) {
			positional, args = append(positional, args[0]), args[1:]
		}
		if len(args) == 0 {
			return positional, nil
		}
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(positional, rest...), nil
		}
		args = rest
	}
}

// parseFlags parses, turning a flag error into one line that points to -h (the flag
// package would print the whole usage after it); -h itself prints the usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(os.Stderr)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(os.Stdout)
		fs.Usage()
		return err
	}
	return usagef("%s: %v (see 'allocscope %s -h')", fs.Name(), err, fs.Name())
}
