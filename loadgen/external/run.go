package external

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultGrace is how long a load command may run past its load phase before it is
// stopped: a tool's start-up (Locust imports for a second or two; a master waits for its
// workers) and its summary at the end.
const DefaultGrace = 10 * time.Second

// KillAfter is how long a stopped command gets between SIGTERM and SIGKILL.
const KillAfter = 3 * time.Second

// stdoutKeep is how much of a command's output is kept for its summary: the summaries
// are printed last and are a few hundred bytes; Locust's periodic tables are not needed.
const stdoutKeep = 64 << 10

// Spec is one lane's load command.
type Spec struct {
	// Name labels the lane in errors.
	Name string
	// Command is the expanded shell command (Template.Expand), run by sh -c.
	Command string
	// Guard, when set, is the argv prefix of allocscope's `__guard`, which takes the
	// command's whole process tree down when allocscope dies or stops it.
	Guard []string
	// Deadline is how long the command may run before allocscope stops it.
	Deadline time.Duration
}

// Outcome is how a load command ended and what it printed.
type Outcome struct {
	Code   int
	Signal string
	// Ran is how long it ran.
	Ran time.Duration
	// Stopped: allocscope stopped it (its deadline passed, or the run was interrupted).
	Stopped bool
	// Stdout is the end of its standard output; Stderr its last lines of standard error.
	Stdout string
	Stderr []string
}

// Failed says whether the command ended on its own with an error.
func (o Outcome) Failed() bool { return !o.Stopped && (o.Code != 0 || o.Signal != "") }

func (o Outcome) String() string {
	if o.Signal != "" {
		return "killed by " + o.Signal
	}
	return fmt.Sprintf("exited with code %d", o.Code)
}

// Run is a load command in flight.
type Run struct {
	spec    Spec
	cmd     *exec.Cmd
	pid     int
	started time.Time
	stdout  byteTail
	stderr  lineTail
	done    chan struct{}
	stopOne sync.Once
	mu      sync.Mutex
	stopped bool
	outcome Outcome
}

// Start runs spec's command in its own process group. It dies with allocscope: by its
// guard when there is one, else by the kernel's parent-death signal.
func Start(ctx context.Context, spec Spec) (*Run, error) {
	argv := append(append([]string(nil), spec.Guard...), "sh", "-c", spec.Command)
	r := &Run{spec: spec, done: make(chan struct{}), stderr: lineTail{max: 20}}
	r.cmd = exec.Command(argv[0], argv[1:]...)
	// A guard answers SIGTERM by taking its group down; a bare sh gets SIGKILL.
	death := syscall.SIGKILL
	if len(spec.Guard) > 0 {
		death = syscall.SIGTERM
	}
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: death}
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	var pidReader, pidWriter *os.File
	if len(spec.Guard) > 0 {
		var err error
		if pidReader, pidWriter, err = os.Pipe(); err != nil {
			return nil, err
		}
		r.cmd.ExtraFiles = []*os.File{pidWriter}
	}
	r.started = time.Now()
	if err := r.cmd.Start(); err != nil {
		if pidReader != nil {
			pidReader.Close()
			pidWriter.Close()
		}
		return nil, fmt.Errorf("lane %s: cannot start the load command: %w", spec.Name, err)
	}
	r.pid = r.cmd.Process.Pid
	if pidReader != nil {
		pidWriter.Close()
		// The guard writes its command's PID, or closes the pipe when it could not start it.
		line, _ := bufio.NewReader(pidReader).ReadString('\n')
		pidReader.Close()
		if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil {
			r.pid = pid
		}
	}
	go r.wait()
	go func() {
		deadline := time.NewTimer(spec.Deadline)
		defer deadline.Stop()
		select {
		case <-ctx.Done():
			r.Stop()
		case <-deadline.C:
			r.Stop()
		case <-r.done:
		}
	}()
	return r, nil
}

func (r *Run) wait() {
	r.cmd.Wait() // its status is in ProcessState
	o := Outcome{Ran: time.Since(r.started), Stdout: r.stdout.String(), Stderr: r.stderr.lines()}
	if ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		o.Signal = ws.Signal().String()
	} else {
		o.Code = r.cmd.ProcessState.ExitCode()
	}
	// A guard reports its command's death by a signal as 128+N.
	if len(r.spec.Guard) > 0 && o.Code > 128 && o.Code < 160 {
		o.Code, o.Signal = 0, syscall.Signal(o.Code-128).String()
	}
	r.mu.Lock()
	o.Stopped = r.stopped
	r.outcome = o
	r.mu.Unlock()
	close(r.done)
}

// Stop ends the command: SIGTERM, then SIGKILL to its whole group after KillAfter.
func (r *Run) Stop() {
	r.stopOne.Do(func() {
		r.mu.Lock()
		r.stopped = true
		r.mu.Unlock()
		pgid := r.cmd.Process.Pid
		if len(r.spec.Guard) > 0 {
			// The guard takes its group and any escaped descendant down itself.
			syscall.Kill(pgid, syscall.SIGTERM)
		} else {
			syscall.Kill(-pgid, syscall.SIGTERM)
		}
		go func() {
			select {
			case <-r.done:
			case <-time.After(KillAfter):
				syscall.Kill(-pgid, syscall.SIGKILL)
			}
		}()
	})
}

// PID is the tool's process (sh, or what sh ran in its place), never the guard.
func (r *Run) PID() int { return r.pid }

// Done is closed when the command has ended.
func (r *Run) Done() <-chan struct{} { return r.done }

// Wait returns how the command ended, once it has.
func (r *Run) Wait() Outcome {
	<-r.done
	return r.outcome
}

// Pause stops the tool's process (SIGSTOP) until Resume; a pipeline's other members run on.
func (r *Run) Pause() { syscall.Kill(r.pid, syscall.SIGSTOP) }

// Resume undoes Pause.
func (r *Run) Resume() { syscall.Kill(r.pid, syscall.SIGCONT) }

// byteTail keeps the last stdoutKeep bytes written to it.
type byteTail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *byteTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - stdoutKeep; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *byteTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// lineTail keeps the last max lines written to it.
type lineTail struct {
	mu      sync.Mutex
	max     int
	partial string
	kept    []string
}

func (t *lineTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.partial + string(p)
	parts := strings.Split(s, "\n")
	t.partial = parts[len(parts)-1]
	if len(t.partial) > 4096 {
		t.partial = t.partial[:4096]
	}
	for _, l := range parts[:len(parts)-1] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		t.kept = append(t.kept, l)
		if len(t.kept) > t.max {
			t.kept = t.kept[1:]
		}
	}
	return len(p), nil
}

func (t *lineTail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.kept...)
	if strings.TrimSpace(t.partial) != "" {
		out = append(out, t.partial)
	}
	if len(out) > t.max {
		out = out[len(out)-t.max:]
	}
	return out
}
