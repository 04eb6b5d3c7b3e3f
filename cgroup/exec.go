package cgroup

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// ExecCommand is the hidden subcommand of allocscope that runs RunExec.
const ExecCommand = "__cgexec"

// RunExec is the body of `allocscope __cgexec DIR -- CMD...`: it moves itself into the
// cgroup at DIR and execs CMD there, so the command's first instruction already runs
// under the cgroup's limit and everything it allocates is charged to it. It returns only
// on failure, with the exit code to exit with.
func RunExec(args []string) int {
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprintln(os.Stderr, "allocscope __cgexec: usage: __cgexec DIR -- COMMAND...")
		return 2
	}
	dir, argv := args[0], args[2:]
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "allocscope __cgexec: %v\n", err)
		return 127
	}
	if err := Enter(dir); err != nil {
		fmt.Fprintf(os.Stderr, "allocscope __cgexec: cannot enter cgroup %s: %v\n", dir, err)
		return 126
	}
	err = syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "allocscope __cgexec: cannot run %q: %v\n", argv[0], err)
	return 126
}
