// Command allocscope shows, live and side by side, what memory allocators do to a real
// server under load. Run `allocscope help` for the subcommands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/experiment"
	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/servers"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const usage = `allocscope — compare memory allocators on a real server under load

usage:
  allocscope run [flags]              the whole experiment (TUI in a terminal, headless otherwise)
  allocscope replay RUN.json          a saved run in the TUI (←/→ to scrub)
  allocscope report RUN.json [flags]  a saved run as Markdown, JSON, CSV, SVG or PNG
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

// exitStatus ends allocscope with this code and nothing more to say: the hidden
// commands' own codes.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	err := execute(newRoot(), args)
	var status exitStatus
	if err == nil || errors.As(err, &status) {
		return int(status)
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

// execute runs the command args name in root, its flags read as allocscope reads them.
func execute(root *cobra.Command, args []string) error {
	// Not for the root: __complete's words are what the user is typing, not flags.
	if c, _, err := root.Find(args); err == nil && c != root && !c.DisableFlagParsing {
		args = gnuArgs(c.Flags(), args)
	}
	root.SetArgs(args)
	return root.Execute()
}

// newRoot is the whole command line: the commands run, help is printed and the shell
// completion is generated from this one tree.
func newRoot() *cobra.Command {
	var root *cobra.Command
	root = &cobra.Command{
		Use:           "allocscope",
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		// A word that is no command reaches the root.
		RunE: func(_ *cobra.Command, args []string) error {
			if near := root.SuggestionsFor(args[0]); len(near) > 0 {
				return usagef("unknown command %q: did you mean %s? (run 'allocscope help' for the list)", args[0], orList(near))
			}
			return usagef("unknown command %q: run 'allocscope help' for the list", args[0])
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SuggestionsMinimumDistance = 2
	root.SetVersionTemplate("allocscope {{.Version}}\n")
	root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		if c == root {
			fmt.Print(usage)
			return
		}
		fmt.Printf("usage: %s\n\nflags:\n", c.UseLine())
		printFlags(os.Stdout, c.Flags())
	})
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		name := strings.TrimPrefix(c.CommandPath(), "allocscope ")
		return usagef("%s: %s (see 'allocscope %s -h')", name, flagErrorLine(err), name)
	})
	root.AddCommand(newRunCmd(), newReplayCmd(), newReportCmd(), newCompareCmd(), newTuneCmd(), newLoadCmd(), newWatchCmd(),
		newServersCmd(), newCompletionCmd(),
		&cobra.Command{Use: "version", Short: "this build's version", Args: cobra.NoArgs, ValidArgsFunction: noArgs,
			Run: func(*cobra.Command, []string) { fmt.Println("allocscope", version) }},
		hidden(servers.GuardCommand, guardMain), hidden(cgroup.ExecCommand, cgroup.RunExec), hidden(loadgen.WorkerCommand, loadWorkerMain),
		hidden(genDocsCommand, genDocsMain))
	return root
}

// command makes a command of use (its synopsis, name first) with fs's flags; run gets
// the positional arguments, which may come before, between or after the flags.
func command(use, short string, fs *pflag.FlagSet, args cobra.CompletionFunc, run func(args []string) error) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, DisableFlagsInUseLine: true, ValidArgsFunction: args,
		RunE: func(_ *cobra.Command, args []string) error { return run(args) }}
	if fs != nil {
		c.Flags().AddFlagSet(fs)
	}
	return c
}

// hidden is an internal command that allocscope starts itself: it gets its arguments
// untouched and ends with its own exit code.
func hidden(name string, main func([]string) int) *cobra.Command {
	return &cobra.Command{Use: name, Hidden: true, DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			if code := main(args); code != 0 {
				return exitStatus(code)
			}
			return nil
		}}
}

// orList is "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// oneLine keeps multi-line errors (a build's output) readable but leads with the cause.
func oneLine(s string) string { return strings.TrimRight(s, "\n") }

// newFlags returns a FlagSet that reports errors instead of exiting, so they get exit code 2.
func newFlags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// flagErrorLine says what was wrong with a flag in the words Go's flag package used,
// which scripts and the tests match on.
func flagErrorLine(err error) string {
	var invalid *pflag.InvalidValueError
	var unknown *pflag.NotExistError
	var needs *pflag.ValueRequiredError
	switch {
	case errors.As(err, &invalid):
		return fmt.Sprintf("invalid value %q for flag %s: %v", invalid.GetValue(), flagName(invalid.GetFlag()), invalid.Unwrap())
	case errors.As(err, &unknown) && unknown.GetSpecifiedShortnames() != "":
		return "flag provided but not defined: -" + unknown.GetSpecifiedName()[:1]
	case errors.As(err, &unknown):
		return "flag provided but not defined: --" + unknown.GetSpecifiedName()
	case errors.As(err, &needs):
		return "flag needs an argument: " + flagName(needs.GetFlag())
	}
	return err.Error()
}

// flagName is how help spells a flag: -x when it has a letter of its own, else --long.
func flagName(f *pflag.Flag) string {
	if f.Shorthand != "" {
		return "-" + f.Shorthand
	}
	return "--" + f.Name
}

// gnuArgs rewrites -long to --long, as Go's flag package read it: pflag would read the
// letters l, o, n, g, so that a mistyped -bogus ran with -b ogus. A flag's value is left
// as it is, even when it starts with a dash.
func gnuArgs(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		out = append(out, a)
		if a == "--" {
			return append(out, args[i+1:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name, _, inline := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		var f *pflag.Flag
		switch {
		case strings.HasPrefix(a, "--"):
			f = fs.Lookup(name)
		case len(name) > 1:
			out[len(out)-1] = "-" + a
			f = fs.Lookup(name)
		case len(name) == 1:
			f = fs.ShorthandLookup(name)
		}
		if f != nil && f.NoOptDefVal == "" && !inline && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}

// printFlags lists a command's flags GNU-style, as the README does: -x for one-letter
// flags, --long, or both.
func printFlags(w io.Writer, fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		name, usage, def := flagWords(f)
		line := "  " + name
		if def != "" {
			usage += fmt.Sprintf(" (default %s)", def)
		}
		if len(line) <= 24 {
			fmt.Fprintf(w, "%-26s%s\n", line, usage)
		} else {
			fmt.Fprintf(w, "%s\n%26s%s\n", line, "", usage)
		}
	})
}

// flagWords are how help and the generated docs name a flag (-x, --long, or both, with
// its value's type), describe it, and give its default ("" for a zero one).
func flagWords(f *pflag.Flag) (name, usage, def string) {
	name = "--" + f.Name
	switch {
	case f.Shorthand == f.Name:
		name = "-" + f.Name
	case f.Shorthand != "":
		name = "-" + f.Shorthand + ", --" + f.Name
	}
	typ, usage := pflag.UnquoteUsage(f)
	if typ != "" {
		name += " " + typ
	}
	def = f.DefValue
	if def == "0" || def == "false" || def == "0s" || def == "[]" {
		def = ""
	}
	return name, usage, def
}

// parseFlags parses args with fs alone (no command), its errors in the command line's words.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(gnuArgs(fs, args)); err != nil {
		return usagef("%s: %s (see 'allocscope %s -h')", fs.Name(), flagErrorLine(err), fs.Name())
	}
	return nil
}
