package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// A worker process runs one Generator and speaks JSON lines: it reads its Config and
// then commands ("pause", "resume", "stop") on stdin, and writes each Snapshot and at
// last the Result on stdout. Each process has its own open-files limit, which is how
// three targets of 10,000 connections each fit under a 20,000 per-process limit.

type workerMessage struct {
	Started  bool      `json:"started,omitempty"`
	Snapshot *Snapshot `json:"snapshot,omitempty"`
	Result   *Result   `json:"result,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// WorkerCommand is the hidden subcommand of allocscope that runs ServeWorker.
const WorkerCommand = "__loadworker"

// ServeWorker is the body of a worker process. It returns the exit code.
func ServeWorker(stdin io.Reader, stdout io.Writer) int {
	in := bufio.NewReader(stdin)
	enc := json.NewEncoder(stdout)
	line, err := in.ReadBytes('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen worker: no config on stdin")
		return 2
	}
	var cfg Config
	if err := json.Unmarshal(line, &cfg); err != nil {
		enc.Encode(workerMessage{Error: "bad config: " + err.Error()}) // exits non-zero either way
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// StartRemote validated and resolved the config in the parent: start it as it is.
	g, err := start(ctx, cfg)
	if err != nil {
		enc.Encode(workerMessage{Error: err.Error()}) // exits non-zero either way
		return 1
	}
	if err := enc.Encode(workerMessage{Started: true}); err != nil {
		return 1 // allocscope is gone; the deferred cancel stops the load
	}
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			switch strings.TrimSpace(sc.Text()) {
			case "pause":
				g.Pause()
			case "resume":
				g.Resume()
			case "stop":
				cancel()
			}
		}
		// The parent is gone or closed our stdin: stop.
		cancel()
	}()
	for s := range g.Snapshots() {
		if err := enc.Encode(workerMessage{Snapshot: &s}); err != nil {
			cancel() // allocscope no longer reads: stop the load, nobody would see it
		}
	}
	r := g.Wait()
	// The parent keeps the summary, not the histogram: its 28,000 buckets were the
	// largest message a worker sent, decoded by allocscope just as the load ended.
	r.Histogram = nil
	if err := enc.Encode(workerMessage{Result: &r}); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen worker: cannot report the result:", err)
		return 1
	}
	return 0
}

// Remote runs a Generator in a worker process and relays it.
type Remote struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	mu        sync.Mutex
	snapshots chan Snapshot
	done      chan struct{}
	result    Result
	gotResult bool
	err       error
	stderr    strings.Builder
}

// StartRemote starts argv (allocscope's own `__loadworker`) with cfg. The process dies
// with its parent (Pdeathsig), so no worker outlives allocscope.
func StartRemote(ctx context.Context, argv []string, cfg Config) (*Remote, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := CheckPlan(CurrentLimits(), cfg); err != nil {
		return nil, err
	}
	cfg, err := cfg.Resolve(ctx)
	if err != nil {
		return nil, err
	}
	r := &Remote{snapshots: make(chan Snapshot, 16), done: make(chan struct{})}
	r.cmd = exec.Command(argv[0], argv[1:]...)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r.cmd.Stderr = &limitedWriter{b: &r.stderr, max: 4096}
	stdin, err := r.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	r.stdin = stdin
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("load worker: %w", err)
	}
	js, err := json.Marshal(cfg)
	if err == nil {
		_, err = stdin.Write(append(js, '\n'))
	}
	if err != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		return nil, fmt.Errorf("load worker: cannot hand it its config: %w", err)
	}
	first := make(chan error, 1)
	go r.relay(stdout, first)
	go func() {
		select {
		case <-ctx.Done():
			r.Stop()
		case <-r.done:
		}
	}()
	if err := <-first; err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Remote) relay(stdout io.Reader, first chan<- error) {
	defer close(r.done)
	defer close(r.snapshots)
	dec := json.NewDecoder(bufio.NewReader(stdout))
	started := false
	for {
		var m workerMessage
		if err := dec.Decode(&m); err != nil {
			break
		}
		switch {
		case m.Started:
			if !started {
				first <- nil
				started = true
			}
		case m.Error != "":
			r.err = errors.New(m.Error)
			if !started {
				first <- r.err
				started = true
			}
		case m.Snapshot != nil:
			if !started {
				first <- nil
				started = true
			}
			r.snapshots <- *m.Snapshot
		case m.Result != nil:
			if !started {
				first <- nil
				started = true
			}
			r.result, r.gotResult = *m.Result, true
		}
	}
	r.cmd.Wait()
	if !started {
		msg := strings.TrimSpace(r.stderr.String())
		if msg == "" {
			msg = r.cmd.ProcessState.String()
		}
		first <- fmt.Errorf("load worker failed: %s", msg)
	}
}

// Err says why the worker ended without a result (killed, crashed, or it reported an
// error), or nil when it delivered one; valid after Wait.
func (r *Remote) Err() error {
	<-r.done
	switch {
	case r.gotResult:
		return nil
	case r.err != nil:
		return r.err
	}
	msg := r.cmd.ProcessState.String()
	if tail := strings.TrimSpace(r.stderr.String()); tail != "" {
		msg += ": " + tail
	}
	return fmt.Errorf("load worker (pid %d) ended without a result: %s", r.cmd.Process.Pid, msg)
}

// Snapshots delivers the worker's per-second snapshots; closed when it ends.
func (r *Remote) Snapshots() <-chan Snapshot { return r.snapshots }

// Wait returns the worker's result once it has ended.
func (r *Remote) Wait() Result {
	<-r.done
	return r.result
}

// PID is the worker process's ID, to measure the load generator itself.
func (r *Remote) PID() int { return r.cmd.Process.Pid }

// command sends c to the worker. A worker that has already ended cannot take it, and
// needs nothing more: its end is reported through Wait and Err.
func (r *Remote) command(c string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := io.WriteString(r.stdin, c+"\n"); err != nil {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill() // alive but deaf: it must not run on unstopped
		}
	}
}

// Pause stops sending new requests.
func (r *Remote) Pause() { r.command("pause") }

// Resume undoes Pause.
func (r *Remote) Resume() { r.command("resume") }

// Stop ends the test early; the worker still reports its result.
func (r *Remote) Stop() { r.command("stop") }

type limitedWriter struct {
	mu  sync.Mutex
	b   *strings.Builder
	max int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
