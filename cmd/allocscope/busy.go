package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
)

// addAllowBusy defines --allow-busy on a command that compares runs.
func addAllowBusy(fs *flag.FlagSet) {
	fs.Bool("allow-busy", false, fmt.Sprintf("compare runs even when other work kept the machine busy during them (over %.0f%% of its CPU under load)", record.BusyOtherPct))
}

// allowBusy reads --allow-busy.
func allowBusy(fs *flag.FlagSet) bool {
	f := fs.Lookup("allow-busy")
	return f != nil && f.Value.String() == "true"
}

// refuseBusyGate fails a --fail-if gate over a busy run: it can be neither passed nor
// failed on its figures, and a gate that cannot tell must not pass.
func refuseBusyGate(c *report.Compared) error {
	if len(c.Refused) == 0 {
		return nil
	}
	for _, line := range c.Refused {
		fmt.Fprintln(os.Stderr, report.Printable("allocscope: FAIL "+line))
	}
	return fmt.Errorf("%w: a compared run was busy with other work; pass --allow-busy to gate on it all the same", errGate)
}
