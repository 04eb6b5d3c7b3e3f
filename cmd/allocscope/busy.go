package main

import (
	"fmt"

	"github.com/allocscope/allocscope/record"
	"github.com/spf13/pflag"
)

// addAllowBusy defines --allow-busy on a command that compares runs.
func addAllowBusy(fs *pflag.FlagSet) *bool {
	return fs.Bool("allow-busy", false, fmt.Sprintf("compare runs even when other work kept the machine busy during them (over %.0f%% of its CPU under load)", record.BusyOtherPct))
}

// allowBusy reads --allow-busy.
func allowBusy(fs *pflag.FlagSet) bool {
	f := fs.Lookup("allow-busy")
	return f != nil && f.Value.String() == "true"
}
