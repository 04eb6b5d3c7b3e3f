package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// signalExit ends allocscope with the shell's code for the signal that stopped it
// (128 + its number: 130 for SIGINT, 131 for SIGQUIT, 143 for SIGTERM), once everything is
// stopped and saved.
type signalExit struct {
	sig syscall.Signal
	// measured is set for a command that was measuring: its record is kept.
	measured bool
}

func (e signalExit) Error() string {
	if !e.measured {
		return "interrupted by " + unix.SignalName(e.sig)
	}
	return fmt.Sprintf("interrupted by %s: the record holds what was measured until then", unix.SignalName(e.sig))
}

// interruptible is a context cancelled by SIGINT, SIGQUIT, SIGTERM or SIGHUP; err says which came.
type interruptible struct {
	context.Context
	mu  sync.Mutex
	sig syscall.Signal
}

// stopSignals end a command in order. SIGQUIT (Ctrl-\) is one of them: Go's default
// answer, a goroutine dump and exit 2, would leave the record "running" and the cgroups
// behind.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP}

// onSignals owns the process's interrupt signals: nothing else may install a handler.
func onSignals() (*interruptible, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &interruptible{Context: ctx}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, stopSignals...)
	go func() {
		select {
		case s := <-ch:
			c.mu.Lock()
			c.sig, _ = s.(syscall.Signal)
			c.mu.Unlock()
			cancel()
		case <-ctx.Done():
		}
	}()
	return c, func() { signal.Stop(ch); cancel() }
}

// interrupted returns the signalExit for the signal that came, or nil.
func (c *interruptible) interrupted() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sig == 0 {
		return nil
	}
	return signalExit{sig: c.sig, measured: true}
}

// signal is the signal that came, 0 when none did.
func (c *interruptible) signal() syscall.Signal {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sig
}

// observe runs the rest of a command that only observes (run, watch, tune: its servers
// and load workers are other processes) on one P, and returns what puts the number
// back. On one P a beat wakes one thread, not also a second one that spins for work
// that is not there and sleeps again: measured in a default run's load (scripts/
// tui-cpu.sh), allocscope woke 34–48 times a second on two Ps, 12–17 on one. A
// GOMAXPROCS the user set is kept; the children start with the number the
// environment gives them.
func observe() (restore func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	old := runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(old) }
}
