package servers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec describes a target process to run.
type Spec struct {
	// Name labels the target in output and errors.
	Name string
	// Command is the argv to run; every "{port}" is replaced by a free port picked for it.
	Command []string
	// Env is added to allocscope's own environment.
	Env []string
	// Preload is a shared library to LD_PRELOAD (an allocator), or "".
	Preload string
	// Bind is the address the target listens on, for readiness checks; default 127.0.0.1.
	Bind string
	// ReadyPath is requested once the port accepts; any HTTP response means ready. Default "/".
	ReadyPath string
	// ReadyTimeout bounds the wait for readiness. Default DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Guard, when set, is the argv prefix of a guard process (allocscope's own `__guard`)
	// that kills the command's whole process group if allocscope dies, for commands
	// that fork children of their own. The built-in server needs none.
	Guard []string
	// Enter, when set, is the argv prefix of a wrapper (allocscope's own `__cgexec`) that
	// moves itself into the target's cgroup and execs the command there: the command runs
	// under its cgroup from its first instruction, and keeps the wrapper's PID.
	Enter []string
	// CPUs, when above 0, confines the command to that many CPUs (sched_setaffinity,
	// inherited at fork): a container smaller than the host.
	CPUs int
}

// DefaultReadyTimeout is how long a target may take to start listening.
const DefaultReadyTimeout = 20 * time.Second

// DefaultStopGrace is how long a target gets between SIGTERM and SIGKILL.
const DefaultStopGrace = 3 * time.Second

// ServerSpec is the Spec of the built-in server binary.
func ServerSpec(name, binary, bind string, threads int) Spec {
	if bind == "" {
		bind = "127.0.0.1"
	}
	cmd := []string{binary, "--port", "0", "--bind", bind}
	if threads > 0 {
		cmd = append(cmd, "--threads", strconv.Itoa(threads))
	}
	return Spec{Name: name, Command: cmd, Bind: bind}
}

// withPort is the spec's command with {port} replaced by a free port, and that port
// ("" when the command has no {port}).
func withPort(spec Spec) (argv []string, port string, err error) {
	argv = append([]string(nil), spec.Command...)
	for i, a := range argv {
		if !strings.Contains(a, "{port}") {
			continue
		}
		if port == "" {
			p, err := freePort(spec.Bind)
			if err != nil {
				return nil, "", fmt.Errorf("target %s: no free port on %s: %w", spec.Name, spec.Bind, err)
			}
			port = strconv.Itoa(p)
		}
		argv[i] = strings.ReplaceAll(a, "{port}", port)
	}
	return argv, port, nil
}

// Process is a running target.
type Process struct {
	Name string
	// PID is the measured process: the command itself, never the guard.
	PID int
	// Addr is host:port where the target serves.
	Addr    string
	cmd     *exec.Cmd
	output  *syncTail
	done    chan struct{}
	exit    ExitStatus
	stopped bool
	mu      sync.Mutex
}

// ExitStatus says how a process ended.
type ExitStatus struct {
	Code   int    `json:"code"`
	Signal string `json:"signal,omitempty"`
	// Requested is true when allocscope stopped the process itself.
	Requested bool `json:"requested"`
}

func (e ExitStatus) String() string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exited with code %d", e.Code)
}

// Start runs the target and waits until it answers HTTP. On error the process is already stopped.
func Start(ctx context.Context, spec Spec) (*Process, error) {
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return nil, fmt.Errorf("target %s has no command", spec.Name)
	}
	if spec.Bind == "" {
		spec.Bind = "127.0.0.1"
	}
	if spec.ReadyPath == "" {
		spec.ReadyPath = "/"
	}
	if spec.ReadyTimeout == 0 {
		spec.ReadyTimeout = DefaultReadyTimeout
	}
	argv, port, err := withPort(spec)
	if err != nil {
		return nil, err
	}
	var childPIDs *os.File
	if len(spec.Enter) > 0 {
		argv = append(append([]string(nil), spec.Enter...), argv...)
	}
	if len(spec.Guard) > 0 {
		argv = append(append([]string(nil), spec.Guard...), argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), spec.Env...)
	if spec.Preload != "" {
		cmd.Env = append(cmd.Env, "LD_PRELOAD="+spec.Preload)
	}
	// Its own process group, so a stop reaches every process it forks; a signal when
	// allocscope dies, even by kill -9, because the kernel sends it, not allocscope.
	// A guard gets SIGTERM, which it answers by taking its command down: the signal is set
	// on its first thread, and a SIGKILL there would kill it before any other thread could.
	deathSignal := syscall.SIGKILL
	if len(spec.Guard) > 0 {
		deathSignal = syscall.SIGTERM
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSignal}
	p := &Process{Name: spec.Name, cmd: cmd, output: &syncTail{tail: lineTail{max: 50}}, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = p.output
	var pidReader *os.File
	if len(spec.Guard) > 0 {
		pidReader, childPIDs, err = os.Pipe()
		if err != nil {
			return nil, err
		}
		cmd.ExtraFiles = []*os.File{childPIDs}
	}
	if err := pinned(spec.CPUs, cmd.Start); err != nil {
		if pidReader != nil {
			pidReader.Close()
			childPIDs.Close()
		}
		return nil, fmt.Errorf("target %s: cannot start %q: %w", spec.Name, spec.Command[0], err)
	}
	p.PID = cmd.Process.Pid
	listening := make(chan string, 1)
	go p.scanStdout(stdout, listening)
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.exit = exitStatus(cmd.ProcessState, err)
		p.exit.Requested = p.stopped
		p.mu.Unlock()
		close(p.done)
	}()
	if pidReader != nil {
		childPIDs.Close()
		line, _ := bufio.NewReader(pidReader).ReadString('\n')
		pidReader.Close()
		if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil {
			p.PID = pid
		}
	}
	readyCtx, cancel := context.WithTimeout(ctx, spec.ReadyTimeout)
	defer cancel()
	if port != "" {
		p.Addr = net.JoinHostPort(spec.Bind, port)
	}
	if err := p.waitReady(readyCtx, spec, listening); err != nil {
		p.Stop(time.Second)
		return nil, err
	}
	return p, nil
}

func (p *Process) scanStdout(r io.Reader, listening chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		p.output.add(line)
		if !sent && strings.HasPrefix(line, "allocscope-server ") {
			for _, f := range strings.Fields(line) {
				if addr, ok := strings.CutPrefix(f, "listening="); ok {
					listening <- addr
					sent = true
				}
			}
		}
	}
}

func (p *Process) waitReady(ctx context.Context, spec Spec, listening <-chan string) error {
	if p.Addr == "" {
		select {
		case addr := <-listening:
			p.Addr = addr
		case <-p.done:
			return p.notReady(spec, "it "+p.Exit().String()+" before printing its address")
		case <-ctx.Done():
			return p.notReady(spec, fmt.Sprintf("it printed no address within %s (a custom command needs {port} in its arguments)", spec.ReadyTimeout))
		}
	}
	client := &http.Client{Timeout: time.Second}
	var last error
	for {
		resp, err := client.Get("http://" + p.Addr + spec.ReadyPath)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		last = err
		select {
		case <-p.done:
			return p.notReady(spec, "it "+p.Exit().String())
		case <-ctx.Done():
			return p.notReady(spec, fmt.Sprintf("%s did not answer within %s (%v)", p.Addr, spec.ReadyTimeout, last))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (p *Process) notReady(spec Spec, why string) error {
	msg := fmt.Sprintf("target %s never became ready: %s", spec.Name, why)
	if out := p.Output(); len(out) > 0 {
		if len(out) > 5 {
			out = out[len(out)-5:]
		}
		msg += "; its last output: " + strings.Join(out, " | ")
	}
	return errors.New(msg)
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exit is how the process ended; valid after Done is closed.
func (p *Process) Exit() ExitStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit
}

// Output returns the last lines the process printed (stdout and stderr).
func (p *Process) Output() []string { return p.output.lines() }

// Stop sends SIGTERM to the process group, then SIGKILL after grace, and waits for the exit.
func (p *Process) Stop(grace time.Duration) ExitStatus {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	pgid := p.cmd.Process.Pid
	select {
	case <-p.done:
		return p.Exit()
	default:
	}
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Whatever the command forked and left behind goes with it.
	syscall.Kill(-pgid, syscall.SIGKILL)
	return p.Exit()
}

func exitStatus(ps *os.ProcessState, err error) ExitStatus {
	if ps == nil {
		return ExitStatus{Code: -1}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ExitStatus{Code: -1, Signal: signalName(ws.Signal())}
	}
	return ExitStatus{Code: ps.ExitCode()}
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return fmt.Sprintf("signal %d", int(s))
}

func freePort(bind string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(bind, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncTail struct {
	mu   sync.Mutex
	tail lineTail
	part []byte
}

func (s *syncTail) add(line string) {
	s.mu.Lock()
	s.tail.add(line)
	s.mu.Unlock()
}

// Write splits stderr into lines for the tail.
func (s *syncTail) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.part = append(s.part, b...)
	for {
		i := strings.IndexByte(string(s.part), '\n')
		if i < 0 {
			break
		}
		s.tail.add(string(s.part[:i]))
		s.part = s.part[i+1:]
	}
	if len(s.part) > 4096 {
		s.tail.add(string(s.part))
		s.part = nil
	}
	return len(b), nil
}

func (s *syncTail) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tail.lines...)
}

// allocatorEnvPrefixes are the environment variables that change how an allocator behaves.
var allocatorEnvPrefixes = []string{"MALLOC_", "MALLOC_CONF", "_RJEM_MALLOC_CONF", "JE_MALLOC_CONF", "MIMALLOC_", "TCMALLOC_", "GLIBC_TUNABLES", "LD_PRELOAD", "SCUDO_"}

// AllocatorEnv is the allocator settings a process started from spec runs with: those
// of allocscope's own environment that it inherits, and the spec's own.
func AllocatorEnv(spec Spec) map[string]string {
	env := map[string]string{}
	vars := append(os.Environ(), spec.Env...)
	if spec.Preload != "" {
		vars = append(vars, "LD_PRELOAD="+spec.Preload)
	}
	for _, kv := range vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		for _, p := range allocatorEnvPrefixes {
			if strings.HasPrefix(k, p) {
				env[k] = v
				break
			}
		}
	}
	return env
}
