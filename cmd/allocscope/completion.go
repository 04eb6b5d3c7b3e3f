package main

import (
	"flag"
	"os"
	"strconv"
	"strings"

	"github.com/allocscope/allocscope/experiment"
	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/servers"
	"github.com/spf13/cobra"
)

// cmdCompletion prints a shell completion script. cobra generates it from allocscope's
// own flag definitions (the same FlagSets the commands parse), and the script asks
// `allocscope __complete …` for flag values and arguments as the user types.
func cmdCompletion(args []string) error {
	if len(args) != 1 {
		return usagef("completion needs a shell: bash, zsh or fish (e.g. source <(allocscope completion bash))")
	}
	root := completionTree()
	switch args[0] {
	case "bash":
		return root.GenBashCompletionV2(os.Stdout, true)
	case "zsh":
		return root.GenZshCompletion(os.Stdout)
	case "fish":
		return root.GenFishCompletion(os.Stdout, true)
	}
	return usagef("completion %q: use bash, zsh or fish", args[0])
}

// completeMain answers the generated scripts' `allocscope __complete ARGS…` requests.
func completeMain(args []string) int {
	root := completionTree()
	root.SetArgs(args)
	root.SetOut(os.Stdout)
	if err := root.Execute(); err != nil {
		return 1
	}
	return 0
}

// completionTree mirrors the commands and their flags for cobra's completion engine;
// the commands themselves still run through main's own dispatch.
func completionTree() *cobra.Command {
	root := &cobra.Command{Use: "allocscope", SilenceErrors: true, SilenceUsage: true}
	root.CompletionOptions.DisableDefaultCmd = true
	runFS, _ := runFlags()
	loadFS, _, _, _ := loadFlagSet()
	reportFS, _, _, _ := reportFlags()
	watchFS, _ := watchFlags()
	buildFS, _, _ := serversBuildFlags()
	compareFS, _, _, _, _ := compareFlags()
	records := fileArgs("json")
	run := mirror(root, "run", "the whole experiment", runFS, noArgs)
	mirror(root, "replay", "a saved run in the TUI", nil, records)
	rep := mirror(root, "report", "a saved run as Markdown, JSON, CSV or SVG", reportFS, records)
	cmp := mirror(root, "compare", "ratios to a base run, tested; a CI gate", compareFS, records)
	cmp.RegisterFlagCompletionFunc("format", words("text", "md", "json", "csv"))
	load := mirror(root, "load", "the load generator on its own", loadFS, noArgs)
	mirror(root, "watch", "RSS/VSZ of running processes", watchFS, pids)
	srv := mirror(root, "servers", "build or list the servers", nil, noArgs)
	build := mirror(srv, "build", "build the server per allocator", buildFS, noArgs)
	mirror(srv, "list", "allocators and their builds", nil, noArgs)
	mirror(root, "version", "this build's version", nil, noArgs)
	mirror(root, "completion", "a shell completion script", nil, words("bash", "zsh", "fish"))
	allocators := listValue(servers.Names())
	for _, c := range []*cobra.Command{run, build} {
		c.RegisterFlagCompletionFunc("allocators", allocators)
	}
	run.RegisterFlagCompletionFunc("target-allocators", allocators)
	run.RegisterFlagCompletionFunc("scenario", listValue(experiment.ScenarioNames()))
	presets := []string{"list"}
	for _, p := range experiment.Presets {
		presets = append(presets, p.Name)
	}
	run.RegisterFlagCompletionFunc("preset", words(presets...))
	run.RegisterFlagCompletionFunc("engine", words(loadgen.EngineAuto, loadgen.EngineEpoll, loadgen.EngineUring))
	load.RegisterFlagCompletionFunc("engine", words(loadgen.EngineAuto, loadgen.EngineEpoll, loadgen.EngineUring))
	rep.RegisterFlagCompletionFunc("format", words(report.Formats...))
	return root
}

// mirror adds a command named use, with fs's flags, that only completes.
func mirror(parent *cobra.Command, use, short string, fs *flag.FlagSet, args cobra.CompletionFunc) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Run: func(*cobra.Command, []string) {}, ValidArgsFunction: args}
	if fs != nil {
		fs.VisitAll(func(f *flag.Flag) {
			shorthand := ""
			if len(f.Name) == 1 {
				shorthand = f.Name
			}
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				c.Flags().BoolP(f.Name, shorthand, false, f.Usage)
				return
			}
			c.Flags().StringP(f.Name, shorthand, "", f.Usage)
		})
	}
	parent.AddCommand(c)
	return c
}

func noArgs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveNoFileComp
}

func words(w ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return w, cobra.ShellCompDirectiveNoFileComp
	}
}

// listValue completes the last item of a comma-separated list.
func listValue(items []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		prefix := ""
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			prefix = toComplete[:i+1]
		}
		var out []cobra.Completion
		for _, it := range items {
			out = append(out, prefix+it)
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

func fileArgs(ext string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{ext}, cobra.ShellCompDirectiveFilterFileExt
	}
}

// pids completes running processes' IDs, each described by its command name.
func pids(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	entries, _ := os.ReadDir("/proc")
	var out []cobra.Completion
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		out = append(out, cobra.CompletionWithDesc(e.Name(), strings.TrimSpace(string(comm))))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
