package servers

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// GuardCommand is the hidden subcommand of allocscope that runs RunGuard.
const GuardCommand = "__guard"

// RunGuard is the body of `allocscope __guard -- CMD...`: it runs CMD in its own process
// group (the one Start created), tells Start the command's PID on fd 3, and when
// allocscope dies (PR_SET_PDEATHSIG) or asks it to stop, takes the whole group down,
// including anything CMD forked. It is a child subreaper, so a descendant that left the
// group (setsid, a daemon's double fork) is reparented to it rather than to init, and is
// found and killed too. It returns the exit code to exit with.
func RunGuard(argv []string) int {
	parent := os.Getppid()
	// The parent-death signal is per thread: Start set SIGTERM on the first one at fork.
	// This sets it on the thread running now as well, which may be another.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "allocscope guard:", err)
		return 1
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "allocscope guard:", err)
		return 1
	}
	// allocscope may have died before prctl took effect.
	if os.Getppid() != parent || parent == 1 {
		return 1
	}
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "allocscope guard: no command")
		return 2
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "allocscope guard: cannot start %q: %v\n", argv[0], err)
		return 127
	}
	if pids := os.NewFile(3, "pids"); pids != nil {
		pids.WriteString(strconv.Itoa(cmd.Process.Pid) + "\n")
		pids.Close()
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return cmd.ProcessState.ExitCode()
	case <-signals:
		// The guard is in the group too, but it catches SIGTERM, so it outlives the
		// polite signal and can follow it with SIGKILL for whatever ignored it.
		syscall.Kill(-syscall.Getpgrp(), syscall.SIGTERM)
		signalDescendants(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
		}
		syscall.Kill(-syscall.Getpgrp(), syscall.SIGKILL)
		// Kill and reap until none is left: a dying process may still fork.
		for i := 0; i < 10 && signalDescendants(syscall.SIGKILL) > 0; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		return 143
	}
}

// signalDescendants sends sig to every process below the guard, outside its group too,
// reaps what has exited, and returns how many were signalled.
func signalDescendants(sig syscall.Signal) int {
	for {
		var ws syscall.WaitStatus
		if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
			break
		}
	}
	parents := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		parents[ppid] = append(parents[ppid], pid)
	}
	n := 0
	queue := append([]int(nil), parents[os.Getpid()]...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = append(queue[1:], parents[pid]...)
		if syscall.Kill(pid, sig) == nil {
			n++
		}
	}
	return n
}
