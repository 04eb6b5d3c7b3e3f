package loadgen

import (
	"bufio"
	"bytes"
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

	"github.com/allocscope/allocscope/internal/rawio"
	"golang.org/x/sys/unix"
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
	// Unless the parent merges results, it keeps the summary, not the histogram: its
	// 28,000 buckets were the largest message a worker sent, decoded by allocscope just
	// as the load ended. When it merges, the trailing empty buckets stay behind.
	if !cfg.KeepHistogram {
		r.Histogram = nil
	} else if r.Histogram != nil {
		c := r.Histogram.Counts
		n := len(c)
		for n > 0 && c[n-1] == 0 {
			n--
		}
		r.Histogram.Counts = c[:n]
	}
	if err := enc.Encode(workerMessage{Result: &r}); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen worker: cannot report the result:", err)
		return 1
	}
	return 0
}

// Remote runs a Generator in a worker process and relays it. Its seconds wait in the
// pipe until the caller polls: nothing in allocscope wakes when a worker writes one
// (the read end is not in Go's poller, whose epoll would wake on each write), so a
// caller that polls on its own clock pays for the seconds only then.
type Remote struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	// out is the read end of the worker's stdout, non-blocking; buf holds a partial line.
	out       int
	buf       []byte
	pending   []Snapshot
	done      chan struct{}
	result    Result
	gotResult bool
	err       error
	stderr    strings.Builder
}

// pipeBytes is the worker's stdout pipe size asked for: a second's snapshot is about 400
// bytes, so the longest load's seconds fit even when nobody polls until its end.
const pipeBytes = 1 << 20

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
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("load worker: %w", err)
	}
	unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, pipeBytes) // the default 64 KiB does too, when polled
	// A blocking fd given to os.NewFile stays out of the poller.
	w := os.NewFile(uintptr(fds[1]), "loadworker-stdout")
	r := &Remote{out: fds[0], done: make(chan struct{})}
	r.cmd = exec.Command(argv[0], argv[1:]...)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r.cmd.Stderr = &limitedWriter{b: &r.stderr, max: 4096}
	r.cmd.Stdout = w
	stdin, err := r.cmd.StdinPipe()
	if err != nil {
		w.Close()
		unix.Close(r.out)
		return nil, err
	}
	r.stdin = stdin
	err = r.cmd.Start()
	w.Close() // the worker has its copy: at its exit, the pipe reads EOF
	if err != nil {
		unix.Close(r.out)
		return nil, fmt.Errorf("load worker: %w", err)
	}
	js, err := json.Marshal(cfg)
	if err == nil {
		_, err = stdin.Write(append(js, '\n'))
	}
	if err != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		unix.Close(r.out)
		return nil, fmt.Errorf("load worker: cannot hand it its config: %w", err)
	}
	// The first message is awaited with blocking reads, once; then the pipe is polled.
	started, err := r.handshake()
	if err == nil && started {
		err = unix.SetNonblock(r.out, true)
	}
	if err != nil || !started {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		unix.Close(r.out)
		if err == nil {
			msg := strings.TrimSpace(r.stderr.String())
			if msg == "" {
				msg = r.cmd.ProcessState.String()
			}
			err = fmt.Errorf("load worker failed: %s", msg)
		}
		return nil, err
	}
	go r.reap()
	go func() {
		select {
		case <-ctx.Done():
			r.Stop()
		case <-r.done:
		}
	}()
	return r, nil
}

// handshake reads until the worker's first message: started (true), its error, or its
// end before either (false).
func (r *Remote) handshake() (bool, error) {
	chunk := make([]byte, 4096)
	for {
		if i := bytes.IndexByte(r.buf, '\n'); i >= 0 {
			var m workerMessage
			err := json.Unmarshal(r.buf[:i], &m)
			if err != nil || m.Error != "" {
				if err == nil {
					err = errors.New(m.Error)
				}
				return false, err
			}
			if m.Started {
				r.buf = r.buf[i+1:]
			}
			return true, nil // started, or a first second: the load runs
		}
		n, err := unix.Read(r.out, chunk)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return false, nil
		}
		r.buf = append(r.buf, chunk[:n]...)
	}
}

// reap waits for the worker's exit, then reads what it wrote last. The wait blocks one
// thread in the kernel, which wakes allocscope once, when the worker exits.
func (r *Remote) reap() {
	r.cmd.Wait()
	r.mu.Lock()
	r.read()
	unix.Close(r.out)
	r.out = -1
	r.mu.Unlock()
	close(r.done)
}

// read takes what the pipe holds now; r.mu is held.
func (r *Remote) read() {
	if r.out < 0 {
		return
	}
	chunk := make([]byte, 16<<10)
	for {
		// Read at each beat: a raw read does not wake Go's sysmon (rawio).
		n, err := rawio.Read(r.out, chunk)
		if err == unix.EINTR {
			continue
		}
		if n <= 0 || err != nil {
			break // empty for now (EAGAIN), or at its end
		}
		r.buf = append(r.buf, chunk[:n]...)
	}
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			break
		}
		var m workerMessage
		if err := json.Unmarshal(r.buf[:i], &m); err == nil {
			switch {
			case m.Error != "":
				r.err = errors.New(m.Error)
			case m.Snapshot != nil:
				r.pending = append(r.pending, *m.Snapshot)
			case m.Result != nil:
				r.result, r.gotResult = *m.Result, true
			}
		}
		r.buf = r.buf[i+1:]
	}
	if len(r.buf) == 0 {
		r.buf = nil // let the consumed lines go
	}
}

// Poll returns the seconds the worker reported since the last Poll, without waiting.
// A caller that wants them must poll at least every half hour of load (the pipe's size);
// the seconds that remain at the worker's end are kept for the next Poll.
func (r *Remote) Poll() []Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.read()
	out := r.pending
	r.pending = nil
	return out
}

// Done is closed once the worker has ended and what it wrote has been read.
func (r *Remote) Done() <-chan struct{} { return r.done }

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
