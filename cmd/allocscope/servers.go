package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"text/tabwriter"

	"github.com/allocscope/allocscope/servers"
	"github.com/allocscope/allocscope/units"
	"github.com/spf13/cobra"
)

func newServersCmd() *cobra.Command {
	c := command("servers build|list", "build or list the servers", nil, noArgs, func(args []string) error {
		if len(args) == 0 {
			return usagef("servers needs a subcommand: build or list")
		}
		return usagef("unknown servers subcommand %q: use build or list", args[0])
	})
	fs := newFlags("servers build")
	list := fs.String("allocators", "system,jemalloc,mimalloc,tcmalloc", "comma-separated allocators to build")
	verbose := fs.Bool("verbose", false, "show cargo's output")
	build := checksDryRun(command("build [--allocators LIST] [--verbose]", "build the server per allocator", fs, noArgs,
		func([]string) error { return cmdServersBuild(*list, *verbose) }))
	build.RegisterFlagCompletionFunc("allocators", listValue(servers.Names()))
	c.AddCommand(build, command("list", "allocators and their builds", nil, noArgs, func([]string) error { return cmdServersList() }))
	return c
}

func cmdServersBuild(list string, verbose bool) error {
	allocs, err := servers.ParseAllocators(list)
	if err != nil {
		return usageError{err.Error()}
	}
	if dryRun {
		return nil
	}
	for i, a := range allocs {
		if a.PreloadOnly {
			allocs[i], _ = servers.LookupAllocator(a.BuildName())
		}
	}
	allocs = slices.CompactFunc(allocs, func(a, b servers.Allocator) bool { return a.Name == b.Name })
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := servers.NewBuilder()
	if verbose {
		b.Log = os.Stderr
	}
	for i, a := range allocs {
		fmt.Fprintf(os.Stderr, "[%d/%d] %-9s building… ", i+1, len(allocs), a.Name)
		bin, err := b.Build(ctx, a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "failed")
			return err
		}
		state := "built"
		if bin.Cached {
			state = "cached"
		}
		fmt.Fprintf(os.Stderr, "%s in %.1fs, %s, %s\n", state, bin.Duration.Seconds(), units.Bytes(float64(bin.SizeBytes)), bin.Path)
	}
	return nil
}

func cmdServersList() error {
	b := servers.NewBuilder()
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ALLOCATOR\tSTATUS\tLIBRARY\tVERSION\tBINARY\tSIZE")
	for _, a := range servers.Allocators {
		status := "available"
		if why := a.Missing(); why != "" {
			status = "unavailable: " + why
		}
		lib := "glibc malloc"
		if a.Library != "" {
			lib = a.LibraryPath()
			if lib == "" {
				lib = a.Library + " (missing)"
			}
		}
		bin, size := "not built (allocscope servers build)", "-"
		build, _ := servers.LookupAllocator(a.BuildName())
		if p := b.CachedPath(build); p != "" {
			bin = p
			if st, err := os.Stat(p); err == nil {
				size = units.Bytes(float64(st.Size()))
			}
			if a.PreloadOnly {
				bin += " (LD_PRELOAD)"
			}
		}
		ver := a.PackageVersion()
		if ver == "" {
			ver = "?"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, status, lib, ver, bin, size)
	}
	return w.Flush()
}

func guardMain(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	return servers.RunGuard(args)
}
