package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/loadgen"

	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
)

var binary string

// The tests run the real command, built once.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "allocscope-cmd-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "allocscope")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func allocscope(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir())
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// tooManyConnections is a -c this machine cannot fit, whatever its limits: one past the
// open-files limit, or past the local ports where those run out first.
var tooManyConnections = func() struct{ flag, want string } {
	l := loadgen.CurrentLimits()
	if l.OpenFiles > 0 && l.OpenFiles < uint64(l.EphemeralPorts) {
		return struct{ flag, want string }{strconv.FormatUint(l.OpenFiles, 10), "open files"}
	}
	return struct{ flag, want string }{strconv.Itoa(l.EphemeralPorts + 1), "local ports"}
}()

func TestBadInputIsOneLineAndExitCode2(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	future := write("future.json", `{"schema":9,"tool":{"version":"x"}}`)
	notRecord := write("not.json", `{"hello":"world"}`)
	truncated := write("trunc.json", `{"schema":1,"tool":{"version":"x"},"targets":[{"name":"a","runs":[`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--allocators", "tcmallocc"}, "unknown allocator"},
		{[]string{"run", "--scenario", "nope"}, "unknown scenario"},
		{[]string{"run", "-c", "0"}, "connections"},
		{[]string{"run", "--engine", "kqueue"}, "use auto, epoll or io_uring"},
		{[]string{"run", "-d", "-5"}, "negative"},
		{[]string{"run", "-d", "ten"}, "not a duration"},
		{[]string{"run", "--connections", "0"}, "connections"},
		{[]string{"run", "--duration", "ten"}, "not a duration"},
		{[]string{"tune", "--duration", "ten"}, "not a duration"},
		{[]string{"tune", "--connections", "abc"}, "for flag -c"},
		{[]string{"run", "--target", "x"}, "NAME=COMMAND"},
		{[]string{"run", "--target", "x="}, "NAME=COMMAND"},
		{[]string{"run", "-c", tooManyConnections.flag}, tooManyConnections.want},
		{[]string{"run", "--threads", "100000"}, "--threads 100000: use 1 to 1024"},
		{[]string{"run", "-c", "abc"}, "invalid value \"abc\" for flag -c: \"abc\" is not a whole number (see 'allocscope run -h')"},
		{[]string{"run", "--threads", "2,4", "-c", "10,20"}, "--threads and -c both list values: sweep one parameter at a time"},
		{[]string{"run", "--threads", "2,2"}, "threads 2 is listed twice in the sweep"},
		{[]string{"run", "--threads", "8,"}, "has an empty value"},
		{[]string{"run", "-c", "10", "--scenario", "hello,nope"}, "scenario=nope: unknown scenario"},
		{[]string{"load", "-d", "0", "http://127.0.0.1:1/"}, "the duration must be above 0"},
		{[]string{"watch", "1", "1"}, "PID 1 is given twice"},
		{[]string{"watch", "--interval", "0", "1"}, "--interval 0s: use 50ms to 1m"},
		{[]string{"report", future, "extra"}, "takes one run record, got \"extra\" too"},
		{[]string{"compare", future, future}, "newer than"},
		{[]string{"compare", notRecord, future}, "not an allocscope run record"},
		{[]string{"run", "--bind", "notanip"}, "is not an IP address"},
		{[]string{"run", "--bogus"}, "flag provided but not defined"},
		{[]string{"replay", future}, "newer than"},
		{[]string{"replay", notRecord}, "not an allocscope run record"},
		{[]string{"replay", truncated}, "truncated"},
		{[]string{"report", filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"report", future, "--format", "pdf"}, "newer than"},
		{[]string{"load"}, "needs a URL"},
		{[]string{"load", "http://127.0.0.1:1/", "-c", "0"}, "connections"},
		{[]string{"load", "https://127.0.0.1/"}, "only http://"},
		{[]string{"load", "http://127.0.0.1:1/", "-w", "-1"}, "workers must be 0"},
		{[]string{"load", "http://127.0.0.1:1/", "--engine", "kqueue"}, "not auto, epoll or io_uring"},
		{[]string{"load", "http://127.0.0.1:1/", "--connections", "0"}, "connections"},
		{[]string{"watch", "abc"}, "not a process ID"},
		{[]string{"watch", "999999999"}, "no process with PID"},
		{[]string{"servers", "build", "--allocators", "nope"}, "unknown allocator"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"rn"}, "unknown command \"rn\": did you mean run?"},
		{[]string{"run", "--targets", filepath.Join(dir, "none.txt")}, "--targets " + filepath.Join(dir, "none.txt") + ": no such file"},
		{[]string{"run", "--against", filepath.Join(dir, "none.json")}, "--against " + filepath.Join(dir, "none.json") + ": no such file"},
		{[]string{"run", "--memory-limit", "0"}, "a memory limit must be above 0"},
		{[]string{"run", "--memory-limit", "-5MiB"}, "a memory limit must be above 0"},
		{[]string{"run", "--memory-limit", "lots"}, "is not a size: write it like 256MiB"},
		{[]string{"run", "--memory-limit", "12parsecs"}, "is not a size"},
		{[]string{"run", "--memory-limit", "1000"}, "below 1 MiB"},
		{[]string{"run", "--fit", "--memory-limit", "64MiB"}, "--fit searches the memory limit itself"},
		{[]string{"run", "--fit", "--runs", "3"}, "--fit runs its own series of trials"},
		{[]string{"run", "--runs", "1000"}, "--runs 1000: use 1 to 100"},
		{[]string{"run", "--view", "big"}, "\"big\": use panels or chart"},
		{[]string{"run", "--allocators", "system+MALLOC_ARENA_MAX"}, "is not VAR=VALUE"},
		{[]string{"run", "--allocators", "=system"}, "has an empty name"},
		{[]string{"run", "--allocators", "a=system,a=jemalloc"}, "two lanes are named \"a\""},
		{[]string{"run", "--allocators", "system,nope+MALLOC_ARENA_MAX=2"}, "unknown allocator"},
		{[]string{"run", "--allocators", "x=/nonexistent/libx.so"}, "does not exist"},
		{[]string{"run", "--allocators", "x=/bin/true"}, "does not export both malloc and free"},
		{[]string{"report", future, "--metric", "rss,bogus"}, "newer than"},
		{[]string{"run", "--preset", "talk"}, "unknown preset \"talk\": choose from give-back, arenas, arena"},
		{[]string{"run", "--strict", "--allocators", "system+MALOC_ARENA_MAX=2"}, "plan refused by --strict: lane system+MALOC_ARENA_MAX=2: MALOC_ARENA_MAX is not a setting glibc reads"},
		{[]string{"run", "--strict", "--allocators", "jemalloc+MALLOC_ARENA_MAX=1"}, "MALLOC_ARENA_MAX is not a setting jemalloc reads"},
		{[]string{"run", "--target", "a=sleep 60", "--target-allocators", "jemalloc+arena"}, "+arena is a mode of the built-in server"},
		{[]string{"run", "--purge", "--purge-wait", "0"}, "--purge-wait must be above 0"},
		{[]string{"run", "-c", "50," + tooManyConnections.flag}, "connections=" + tooManyConnections.flag + ": " + tooManyConnections.flag + " connections"},
		{[]string{"run", "-c", "50,0"}, "connections=0: -c 0: connections must be at least 1"},
		{[]string{"run", "--threads", "0"}, "--threads 0: use 1 to 1024"},
		{[]string{"run", "--threads", "0,4"}, "--threads 0: use 1 to 1024"},
		{[]string{"run", "--fit", "--fit-trials", "0"}, "--fit-trials 0: use 1 to 30"},
		{[]string{"run", "--allocators", ""}, "--allocators is empty"},
		{[]string{"run", "--preset", ""}, "--preset is empty"},
		{[]string{"run", "--allocators", "system", "--target", "system=sleep 60"}, "--target system has the name of an --allocators lane"},
		{[]string{"run", "--allocators", "system,jemalloc", "--target", "system=http://127.0.0.1:9/", "--memory-from", "system=prom+http://127.0.0.1:9/metrics"}, "--target system has the name of an --allocators lane"},
		{[]string{"run", "--target", "a=sleep 60", "--same-server", "a"}, "--same-server a: name two or more --target lanes"},
		{[]string{"run", "--target", "a=sleep 60", "--same-server", "a,system"}, "--same-server a,system: \"system\" is not a --target"},
		{[]string{"run", "--target", "a=sleep 60", "--target", "b=sleep 60", "--same-server", "a,b", "--same-server", "b,a"}, "--same-server: b is in two groups"},
		{[]string{"run", "--strict", "--allocators", "system+GLIBC_TUNABLES=glibc.malloc.bogus=2"}, "plan refused by --strict: lane system+GLIBC_TUNABLES=glibc.malloc.bogus=2: GLIBC_TUNABLES: glibc.malloc.bogus is not a tunable this glibc knows"},
		{[]string{"run", "--allocators", "x=system+LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}, "sets LD_PRELOAD: to run a library, give it as a lane of its own"},
		{[]string{"run", "--allocators", "system+MALLOC_ARENA_MAX=2+MALLOC_ARENA_MAX=3"}, "sets MALLOC_ARENA_MAX twice: give each variable once"},
		{[]string{"load", "--targets", filepath.Join(dir, "none.txt")}, "none.txt: no such file"},
		{[]string{"run", "--targets", filepath.Join(dir, "none.txt")}, "none.txt: no such file"},
		{[]string{"run", "--targets", write("method.txt", "FETCH http://h/a\n")}, "method.txt:1: bad method \"FETCH\""},
		{[]string{"run", "--targets", write("header.txt", "GET http://h/a\nX-Broken\n")}, "header.txt:2: bad header \"X-Broken\""},
		{[]string{"run", "--targets", write("body.txt", "POST http://h/a\n@gone.json\n")}, "body.txt:2: body: open " + filepath.Join(dir, "gone.json") + ": no such file"},
		{[]string{"run", "--targets", write("empty.txt", "# nothing\n")}, "empty.txt: no targets"},
		{[]string{"run", "--targets", write("weight.txt", "GET http://h/a\n# weight: 0\n")}, "weight.txt:2: weight \"0\" must be a whole number of at least 1"},
		{[]string{"load", "--targets", write("hosts.txt", "GET http://a:1/x\nGET http://b:2/y\n")}, "its targets name a:1 and b:2"},
		{[]string{"run", "--targets", write("ok.txt", "GET http://h/a\n"), "-m", "POST"}, "-m and --targets both set"},
		{[]string{"run", "--targets", write("ok2.txt", "GET http://h/a\n"), "--scenario", "json"}, "--targets and --scenario or --path both set"},
		{[]string{"run", "-m", "BAD METHOD"}, "is not a single word"},
		{[]string{"run", "--load-command", ""}, "--load-command is empty"},
		{[]string{"run", "--load-command", "wrk {uri}"}, "unknown placeholder {uri}: use {url}"},
		{[]string{"run", "--load-command", "wrk {url}", "-H", "A: b"}, "--load-command and -H both set"},
		{[]string{"run", "--load-command", "wrk {url}", "--targets", write("ok3.txt", "GET http://h/a\n")}, "--load-command and --targets both set"},
		{[]string{"run", "--load-command", "wrk {url}", "-R", "100"}, "--load-command and -R both set"},
		{[]string{"run", "--load-command-grace", "5s"}, "--load-command-grace without --load-command"},
		{[]string{"run", "--load-command", "wrk {url}", "--load-command-grace", "0"}, "--load-command-grace 0s: give it a time above 0"},
	} {
		_, stderr, code := allocscope(t, c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if code != 2 || !strings.Contains(last, c.want) || len(lines) != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", c.args, code, stderr, c.want)
		}
	}
}

func TestReportConvertsASavedRun(t *testing.T) {
	out, _, code := allocscope(t, "report", "../../report/testdata/run.json", "--format", "md")
	if code != 0 || !strings.Contains(out, "| # | RSS | VSZ |") {
		t.Fatalf("exit %d: %.200s", code, out)
	}
	p := filepath.Join(t.TempDir(), "chart.svg")
	if _, stderr, code := allocscope(t, "report", "../../report/testdata/run.json", "-o", p); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(p); !bytes.Contains(b, []byte("<svg")) {
		t.Fatal("-o x.svg did not write an SVG")
	}
}

// lockedBuffer is a buffer that exec's copying goroutine writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startRun starts a headless run and waits until its load workers are up.
func startRun(t *testing.T, args ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	save := filepath.Join(t.TempDir(), "run.json")
	cmd := exec.Command(binary, append([]string{"run", "--headless", "--save", save}, args...)...)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stderr.String(), "req/s") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the load never started: %s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cmd, save, stderr
}

func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

// proc is one process, told apart by its start time from a later one given the same PID
// (pid_max is 32,768 here), so that "still alive" never means "its PID was reused".
type proc struct {
	pid   int
	start uint64
}

func identify(pids []int) []proc {
	fs, _ := probe.NewFS(probe.DefaultRoot)
	out := make([]proc, len(pids))
	for i, pid := range pids {
		p, _ := fs.ReadProcess(pid, 0)
		out[i] = proc{pid, p.StartTicks}
	}
	return out
}

func (p proc) alive() bool {
	fs, _ := probe.NewFS(probe.DefaultRoot)
	_, err := fs.ReadProcess(p.pid, p.start)
	return p.start != 0 && err == nil
}

func TestKill9LeavesNoServerOrLoadWorker(t *testing.T) {
	cmd, _, _ := startRun(t, "--allocators", "system,jemalloc", "-c", "50", "-d", "60", "--baseline", "0")
	fs, _ := probe.NewFS(probe.DefaultRoot)
	children, err := fs.Descendants(cmd.Process.Pid)
	if err != nil || len(children) < 4 {
		t.Fatalf("want 2 servers and 2 load workers under allocscope, found %v (%v)", children, err)
	}
	procs := identify(children)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// The bound only ends a failing test: a busy machine may take seconds to deliver
	// the parent-death signals and let the guards sweep.
	deadline := time.Now().Add(time.Minute)
	for _, p := range procs {
		for p.alive() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if p.alive() {
			syscall.Kill(p.pid, syscall.SIGKILL)
			t.Errorf("process %d outlived kill -9 of allocscope", p.pid)
		}
	}
}

// cgroupsHere skips a test where this machine gives allocscope no writable memory cgroup.
func cgroupsHere(t *testing.T) *cgroup.Hierarchy {
	t.Helper()
	h, err := cgroup.Writable("/")
	if err != nil {
		t.Skipf("no writable memory cgroup here: %v", err)
	}
	return h
}

func TestKill9LeavesNoCgroupAfterTheNextStart(t *testing.T) {
	h := cgroupsHere(t)
	cmd, _, _ := startRun(t, "--allocators", "system", "-c", "20", "-d", "60", "--baseline", "0", "--cgroup")
	leftover := filepath.Join(h.Own, cgroup.Prefix+strconv.Itoa(cmd.Process.Pid))
	if _, err := os.Stat(leftover); err != nil {
		t.Fatalf("the run's cgroup %s is not there while it runs: %v", leftover, err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	_, stderr, code := allocscope(t, "run", "--headless", "--allocators", "system", "-c", "5", "-d", "1", "--baseline", "0", "--cooldown", "0", "--cgroup")
	if code != 0 {
		t.Fatalf("the next run failed (exit %d): %s", code, stderr)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the next start (%v)", leftover, err)
	}
	// Other packages' tests may be running allocscope now: only a dead run's cgroup is
	// a leftover.
	entries, _ := os.ReadDir(h.Own)
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), cgroup.Prefix))
		if strings.HasPrefix(e.Name(), cgroup.Prefix) && err == nil && !alive(pid) {
			t.Errorf("cgroup %s of a finished run left behind", e.Name())
		}
	}
}

func TestMemoryLimitBelowIdleIsOneLineAndExitCode2(t *testing.T) {
	cgroupsHere(t)
	_, stderr, code := allocscope(t, "run", "--headless", "--allocators", "system", "-c", "5", "-d", "1", "--baseline", "0", "--memory-limit", "1MiB")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != 2 || !strings.Contains(last, "--memory-limit 1 MiB is below system") {
		t.Errorf("exit %d, last line %q; want exit 2 and the limit named", code, last)
	}
}

func TestSigtermLeavesACompleteRecord(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd, save, stderr := startRun(t, "--allocators", "system", "-c", "20", "-d", "60", "--baseline", "0", "--interval", "250ms")
		fs, _ := probe.NewFS(probe.DefaultRoot)
		children, _ := fs.Descendants(cmd.Process.Pid)
		procs := identify(children)
		time.Sleep(time.Second)
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 128+int(sig) {
			t.Fatalf("%v: exit %v, want %d; %s", sig, err, 128+int(sig), stderr.String())
		}
		rec, err := record.Load(save)
		if err != nil {
			t.Fatalf("%v: %v", sig, err)
		}
		run := rec.Targets[0].Runs[0]
		if rec.State != record.StateInterrupted || len(run.Samples) == 0 || len(run.Load) == 0 || run.Result == nil || run.Exit == nil {
			t.Fatalf("%v: record state %s, %d samples, %d load seconds, result %v, exit %v", sig, rec.State, len(run.Samples), len(run.Load), run.Result, run.Exit)
		}
		for _, p := range procs {
			if p.alive() {
				t.Fatalf("%v: child %d still running after allocscope exited", sig, p.pid)
			}
		}
	}
}

// SIGQUIT (Ctrl-\) is an orderly stop like SIGTERM: Go's default would dump every
// goroutine and exit 2, leaving the record "running" and the cgroup behind.
func TestSigquitStopsInOrder(t *testing.T) {
	args := []string{"--allocators", "system", "-c", "20", "-d", "60", "--baseline", "0", "--interval", "250ms"}
	h, cgErr := cgroup.Writable("/")
	if cgErr == nil {
		args = append(args, "--cgroup")
	}
	cmd, save, stderr := startRun(t, args...)
	fs, _ := probe.NewFS(probe.DefaultRoot)
	children, _ := fs.Descendants(cmd.Process.Pid)
	procs := identify(children)
	cmd.Process.Signal(syscall.SIGQUIT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 131 {
		t.Fatalf("exit %v, want 131 (128 + SIGQUIT); %s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "goroutine ") {
		t.Errorf("SIGQUIT dumped the goroutines: %.300s", stderr.String())
	}
	rec, err := record.Load(save)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != record.StateInterrupted || rec.Targets[0].Runs[0].Exit == nil {
		t.Errorf("record state %s, exit %v; want interrupted, the server's exit recorded", rec.State, rec.Targets[0].Runs[0].Exit)
	}
	for _, p := range procs {
		if p.alive() {
			syscall.Kill(p.pid, syscall.SIGKILL)
			t.Errorf("child %d still running after allocscope exited", p.pid)
		}
	}
	if cgErr != nil {
		t.Logf("no writable memory cgroup here (%v): the cgroup's removal is not checked", cgErr)
		return
	}
	if dir := filepath.Join(h.Own, cgroup.Prefix+strconv.Itoa(cmd.Process.Pid)); exists(dir) {
		t.Errorf("the run's cgroup %s is still there after SIGQUIT", dir)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Flags may follow the PIDs, GNU style.
func TestWatchTakesFlagsAfterThePIDs(t *testing.T) {
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	pid := strconv.Itoa(sleeper.Process.Pid)
	stdout, stderr, code := allocscope(t, "watch", "--headless", pid, "--duration", "300ms", "--interval", "100ms")
	if code != 0 || !strings.Contains(stdout, "rss ") || !strings.Contains(stderr, "watch record saved") {
		t.Errorf("exit %d, stdout %q, stderr %q; want a short headless watch", code, stdout, stderr)
	}
}

// --metrics-addr with port 0 gets a port from the kernel, and says which.
func TestMetricsAddrPortZeroSaysItsPort(t *testing.T) {
	cmd, _, stderr := startRun(t, "--allocators", "system", "-c", "5", "-d", "60", "--baseline", "0", "--metrics-addr", "127.0.0.1:0")
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	_, rest, ok := strings.Cut(stderr.String(), "allocscope: metrics at http://")
	addr, _, _ := strings.Cut(rest, "/metrics")
	if !ok || strings.HasSuffix(addr, ":0") {
		t.Fatalf("stderr does not name the bound address: %s", stderr.String())
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "system") {
		t.Errorf("GET http://%s/metrics: %s %.200s", addr, resp.Status, body)
	}
}

func TestUnwritableExportOrSaveIsRefusedBeforeAnythingStarts(t *testing.T) {
	save := filepath.Join(t.TempDir(), "run.json")
	for _, args := range [][]string{
		{"--save", save, "--export-markdown", "/nonexistent-dir/report.md"},
		{"--save", "/nonexistent-dir/run.json"},
		{"--save", save, "--export-json", "/proc/report.json"},
	} {
		full := append([]string{"run", "--headless", "--allocators", "system", "-c", "10", "-d", "1", "--baseline", "0", "--cooldown", "0"}, args...)
		_, stderr, code := allocscope(t, full...)
		if code != 2 || !strings.Contains(stderr, args[len(args)-1]) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Fatalf("%v: exit %d, want 2 and one line naming the path: %s", args, code, stderr)
		}
		if _, err := os.Stat(save); err == nil {
			t.Fatalf("%v: a run started although its files could not be written", args)
		}
	}
}

func TestPresetListSaysWhatEachStandsFor(t *testing.T) {
	out, stderr, code := allocscope(t, "run", "--preset", "list")
	if code != 0 {
		t.Fatalf("--preset list: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"give-back:", "--purge", "arenas:", "MALLOC_ARENA_MAX=1", "--threads 16", "arena:", "jemalloc+arena"} {
		if !strings.Contains(out, want) {
			t.Errorf("--preset list lacks %q:\n%s", want, out)
		}
	}
}

func TestServersListNamesEveryAllocator(t *testing.T) {
	out, stderr, code := allocscope(t, "servers", "list")
	if code != 0 {
		t.Fatalf("servers list: exit %d: %s", code, stderr)
	}
	for _, a := range []string{"system", "jemalloc", "mimalloc", "tcmalloc", "scudo"} {
		if !strings.Contains(out, "\n"+a+" ") {
			t.Fatalf("servers list does not show %s:\n%s", a, out)
		}
	}
}

func TestRunsStartedInTheSameSecondGetTheirOwnRecord(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		p, err := newRunPath()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("%s handed out twice", p)
		}
		seen[p] = true
	}
}

func TestLoadInterruptedBySigtermExits143(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })}
	go srv.Serve(ln)
	defer srv.Close()
	cmd := exec.Command(binary, "load", "-c", "5", "-d", "30", "http://"+ln.Addr().String()+"/")
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); !strings.Contains(stderr.String(), "Running"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("load never started: %s", stderr.String())
		}
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 143 {
		t.Fatalf("load after SIGTERM: %v, want exit 143; %s", err, stderr.String())
	}
}

func TestCompletionInBashCompletesFlagsAndValues(t *testing.T) {
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(bashCompletion); err != nil {
		t.Skip("bash-completion is not installed (make test installs it)")
	}
	script, stderr, code := allocscope(t, "completion", "bash")
	if code != 0 {
		t.Fatalf("completion bash: exit %d: %s", code, stderr)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c.bash"), []byte(script), 0o644)
	complete := func(words ...string) string {
		t.Helper()
		// What bash does on TAB: COMP_WORDS holds the line, the function fills COMPREPLY.
		line := strings.Join(words, " ")
		sh := fmt.Sprintf(`PATH=%q:$PATH; source `+bashCompletion+`; source %q; COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=%q; COMP_POINT=${#COMP_LINE}; __start_allocscope; printf '%%s\n' "${COMPREPLY[@]}"`,
			filepath.Dir(binary), filepath.Join(dir, "c.bash"), line, len(words)-1, line)
		out, err := exec.Command("bash", "-c", sh).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", line, err, out)
		}
		return string(out)
	}
	if got := complete("allocscope", "run", "--scen"); !strings.Contains(got, "--scenario") {
		t.Fatalf("run --scen<TAB>: %q", got)
	}
	if got := complete("allocscope", "run", "--scenario", "la"); !strings.Contains(got, "large") {
		t.Fatalf("run --scenario la<TAB>: %q", got)
	}
	if got := complete("allocscope", "load", "--conn"); !strings.Contains(got, "--connections") {
		t.Fatalf("load --conn<TAB>: %q", got)
	}
}

// writeRuns saves a record of one "system" lane with these peak RSS (MiB) and req/s per run.
func writeRuns(t *testing.T, name string, peaks, rps []float64) string {
	t.Helper()
	r := &record.Record{Schema: record.SchemaVersion, State: record.StateDone, Plan: record.Plan{Runs: len(peaks)}}
	tg := record.Target{Name: "system", Allocator: "system"}
	for k := range peaks {
		tg.Runs = append(tg.Runs, record.TargetRun{
			Peaks:  map[record.Phase]record.PeakRSS{record.PhaseLoad: {Bytes: uint64(peaks[k] * (1 << 20)), Source: record.PeakKernel}},
			Result: &record.LoadResult{Requests: 1000, ReqPerSec: rps[k], P99: time.Millisecond},
		})
	}
	r.Targets = append(r.Targets, tg)
	path := filepath.Join(t.TempDir(), name)
	if err := record.Save(path, r); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompareGateExitCodes(t *testing.T) {
	base := writeRuns(t, "base.json", []float64{100, 102, 98, 101, 99}, []float64{30e3, 31e3, 29e3, 30e3, 30e3})
	same := writeRuns(t, "same.json", []float64{101, 99, 100, 102, 98}, []float64{30e3, 29e3, 31e3, 30e3, 30e3})
	grown := writeRuns(t, "grown.json", []float64{120, 123, 118, 121, 119}, []float64{30e3, 31e3, 29e3, 30e3, 30e3})
	single := writeRuns(t, "single.json", []float64{100}, []float64{30e3})
	singleGrown := writeRuns(t, "single-grown.json", []float64{115}, []float64{30e3})
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{base, same, "--fail-if", "peak_rss>+10%"}, 0, "allocscope: gate passed: 1 threshold of --fail-if held"},
		{[]string{base, grown, "--fail-if", "peak_rss>+10%,rps<-5%"}, 1, "FAIL peak_rss>+10%: system's peak RSS is 1.20×"},
		{[]string{base, grown, "--fail-if", "peak_rss>+10%,rps<-5%"}, 1, "gate: 1 of 2 thresholds of --fail-if breached (1 lane)"},
		{[]string{base, grown, "--fail-if", "peak_rss>+25%"}, 0, ""},
		{[]string{single, singleGrown, "--fail-if", "peak_rss>+10%"}, 1, "a comparison of single runs"},
		{[]string{single, singleGrown, "--fail-if", "peak_rss>+20%"}, 0, ""},
		{[]string{base, grown, "--fail-if", "peak_rss>10"}, 2, "needs a % sign"},
		{[]string{base, grown, "--fail-if", "heap>+10%"}, 2, "unknown figure \"heap\""},
		{[]string{base, grown, "--fail-if", "rps>-5%"}, 2, "a rise is >+N%"},
		{[]string{base, grown, "--match", "nope=system"}, 2, "has no lane \"nope\""},
		{[]string{base}, 2, "needs a base record and at least one more"},
	} {
		_, stderr, code := allocscope(t, append([]string{"compare"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("compare %v: exit %d, stderr %q; want exit %d and %q", c.args[1:], code, stderr, c.code, c.want)
		}
	}
}

func TestCompareGateRefusesABusyRun(t *testing.T) {
	base := writeRuns(t, "base.json", []float64{100, 102, 98, 101, 99}, []float64{30e3, 31e3, 29e3, 30e3, 30e3})
	same := writeRuns(t, "same.json", []float64{101, 99, 100, 102, 98}, []float64{30e3, 29e3, 31e3, 30e3, 30e3})
	rec, err := record.Load(same)
	if err != nil {
		t.Fatal(err)
	}
	// Other work took 63% of the machine all through the load.
	rec.Interference = &record.Interference{Series: []record.CPUShare{{T: 1500 * time.Millisecond, OtherPct: 63}}}
	rec.Interference.Summarize(rec)
	for k := range rec.Targets[0].Runs {
		rec.Targets[0].Runs[k].Samples = []record.Sample{{T: 1500 * time.Millisecond, RSSBytes: 100 << 20}}
	}
	busy := filepath.Join(t.TempDir(), "busy.json")
	if err := record.Save(busy, rec); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := allocscope(t, "compare", base, busy, "--fail-if", "peak_rss>+10%")
	want := "allocscope: FAIL Not compared: the machine was busy with other work (63% of its CPU) during " + busy + "; rerun on a quiet machine or pass --allow-busy."
	if code != 1 || !strings.Contains(stderr, want) || strings.Contains(stdout, "×") {
		t.Fatalf("a busy run through the gate: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, want)
	}
	if _, stderr, code := allocscope(t, "compare", base, busy, "--fail-if", "peak_rss>+10%", "--allow-busy"); code != 0 {
		t.Fatalf("with --allow-busy: exit %d: %s", code, stderr)
	}
	if out, stderr, code := allocscope(t, "report", busy); code != 0 || !strings.Contains(out, "Not compared: the machine was busy") {
		t.Fatalf("report of a busy run: exit %d: %s\n%s", code, stderr, out)
	}
	if out, _, _ := allocscope(t, "report", busy, "--allow-busy"); !strings.Contains(out, "compared all the same (--allow-busy)") {
		t.Fatalf("report --allow-busy of a busy run:\n%s", out)
	}
}

func TestRunAgainstABaseComparesAndGates(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.json")
	short := []string{"run", "--headless", "--allocators", "system", "-c", "10", "-d", "1", "--baseline", "0", "--cooldown", "0"}
	if _, stderr, code := allocscope(t, append(short, "--save", base)...); code != 0 || !strings.Contains(stderr, "run record saved to "+base+"; view it with allocscope report "+base+" or allocscope replay "+base+"\n") {
		t.Fatalf("base run: exit %d, no line saying where the record is and how to view it: %s", code, stderr)
	}
	// --allow-busy: the suite shares the machine with other work, which would otherwise
	// (rightly) keep the gate from passing; TestCompareGateRefusesABusyRun covers that.
	out, stderr, code := allocscope(t, append(short, "--save", filepath.Join(dir, "new.json"), "--against", base, "--fail-if", "peak_rss>+1000%", "--allow-busy")...)
	if code != 0 || !strings.Contains(out, "Peak RSS (each against "+base+")") {
		t.Fatalf("run --against: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	_, stderr, code = allocscope(t, append(short, "--against", filepath.Join(dir, "missing.json"))...)
	if code != 2 || !strings.Contains(stderr, "missing.json") {
		t.Fatalf("run --against a missing file: exit %d: %s", code, stderr)
	}
	_, stderr, code = allocscope(t, append(short, "--fail-if", "peak_rss>+10%")...)
	if code != 2 || !strings.Contains(stderr, "--fail-if needs --against") {
		t.Fatalf("--fail-if alone: exit %d: %s", code, stderr)
	}
}

func TestTwoValueSweepFillsEveryCell(t *testing.T) {
	dir := t.TempDir()
	md, save := filepath.Join(dir, "sweep.md"), filepath.Join(dir, "sweep.json")
	out, stderr, code := allocscope(t, "run", "--headless", "--allocators", "system,jemalloc", "--threads", "2,4", "-c", "20", "-d", "1",
		"--baseline", "0", "--cooldown", "1s", "--save", save, "--export-markdown", md)
	if code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "## Sweep of threads: 2, 4") {
		t.Fatalf("the summary on stdout is not the sweep's:\n%s", out)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, table := range []string{"### Peak RSS", "### Mean RSS under load", "### RSS after cooldown", "### Peak VSZ", "### Req/s", "### p99", "### Threads under load"} {
		i := strings.Index(text, table+"\n")
		if i < 0 {
			t.Fatalf("no %q matrix", table)
		}
		rows := strings.Split(text[i:], "\n")[4:6]
		for _, row := range rows {
			if strings.Count(row, "|") != 4 || strings.Contains(row, "n/a") {
				t.Fatalf("%s: row %q lacks a cell", table, row)
			}
		}
	}
	rec, err := record.Load(save)
	if err != nil {
		t.Fatal(err)
	}
	s2, s4 := record.Summarize(rec.Step(0))[0].Threads.Median, record.Summarize(rec.Step(1))[0].Threads.Median
	if s4 <= s2 {
		t.Fatalf("threads under load %g at --threads 2 and %g at 4: the steps did not take", s2, s4)
	}
}
