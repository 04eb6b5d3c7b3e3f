package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// newCompletionCmd prints a shell completion script, which cobra generates from the
// command tree itself; the script asks `allocscope __complete …` for flag values and
// arguments as the user types.
func newCompletionCmd() *cobra.Command {
	c := command("completion bash|zsh|fish", "a shell completion script", nil, words("bash", "zsh", "fish"), nil)
	c.RunE = func(c *cobra.Command, args []string) error { return cmdCompletion(c.Root(), args) }
	return c
}

func cmdCompletion(root *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usagef("completion needs a shell: bash, zsh or fish (e.g. source <(allocscope completion bash))")
	}
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
