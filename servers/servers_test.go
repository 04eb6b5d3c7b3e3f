package servers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary doubles as the helper processes these tests need.
func TestMain(m *testing.M) {
	switch os.Getenv("ALLOCSCOPE_TEST_HELPER") {
	case "serve":
		serveHello(os.Args[len(os.Args)-1])
	case "parent":
		runParent()
	case "guard":
		os.Exit(RunGuard(os.Args[1:]))
	case "guard-offthread":
		os.Exit(guardOffMainThread(os.Args[1:]))
	default:
		os.Exit(m.Run())
	}
}

// guardOffMainThread runs the guard on an OS thread other than the process's first: the
// Go runtime may run any goroutine there, and the parent-death signal is per thread.
func guardOffMainThread(argv []string) int {
	code := make(chan int)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The locked thread is the first one: lock it away and try again on another.
			code <- guardOffMainThread(argv)
			select {}
		}
		code <- RunGuard(argv)
	}()
	return <-code
}

func serveHello(port string) {
	http.ListenAndServe("127.0.0.1:"+port, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	os.Exit(1)
}

// runParent starts a target the way allocscope does, prints the measured PID and waits to be killed.
func runParent() {
	var spec Spec
	if err := json.Unmarshal([]byte(os.Getenv("ALLOCSCOPE_TEST_SPEC")), &spec); err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	p, err := Start(context.Background(), spec)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println("PID", p.PID)
	time.Sleep(time.Hour)
}

func build(t *testing.T, name string) Binary {
	t.Helper()
	a, err := LookupAllocator(name)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := NewBuilder().Build(context.Background(), a)
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	return bin
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func stats(t *testing.T, p *Process) Stats {
	t.Helper()
	_, body := get(t, "http://"+p.Addr+"/stats")
	var s Stats
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("/stats is not JSON: %v: %s", err, body)
	}
	return s
}

func start(t *testing.T, spec Spec) *Process {
	t.Helper()
	p, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(DefaultStopGrace) })
	return p
}

func mapsMention(t *testing.T, pid int, lib string) bool {
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(maps), lib)
}

func TestEachBuildServesAndReportsItsAllocator(t *testing.T) {
	want := map[string]string{"system": "glibc", "jemalloc": "jemalloc", "mimalloc": "mimalloc", "tcmalloc": "tcmalloc"}
	for _, a := range Allocators {
		if a.PreloadOnly {
			continue // no build of its own: TestScudoServesPreloadedAndPurges
		}
		t.Run(a.Name, func(t *testing.T) {
			bin := build(t, a.Name)
			p := start(t, ServerSpec(a.Name, bin.Path, "", 2))
			if !strings.HasPrefix(p.Addr, "127.0.0.1:") {
				t.Fatalf("server bound %s, want 127.0.0.1 by default", p.Addr)
			}
			if code, body := get(t, "http://"+p.Addr+"/"); code != 200 || body != "Hello, World!" {
				t.Fatalf("GET / = %d %q", code, body)
			}
			before := stats(t, p)
			if before.Allocator != want[a.Name] || before.Build != a.Name {
				t.Fatalf("/stats says build %q allocator %q, want %q %q", before.Build, before.Allocator, a.Name, want[a.Name])
			}
			if before.Version == "" {
				t.Fatalf("/stats has no library version")
			}
			if a.Library != "" && !mapsMention(t, p.PID, a.Library) {
				t.Fatalf("%s is not mapped into the server", a.Library)
			}
			if code, _ := get(t, "http://"+p.Addr+"/alloc?count=20000&size=512&order=lifo"); code != 200 {
				t.Fatalf("/alloc = %d", code)
			}
			const held = 32 << 20
			if code, _ := get(t, fmt.Sprintf("http://%s/hold?bytes=%d&ms=60000", p.Addr, held)); code != 200 {
				t.Fatalf("/hold = %d", code)
			}
			after := stats(t, p)
			if after.Requests < before.Requests+2 {
				t.Fatalf("requests went from %d to %d after two requests", before.Requests, after.Requests)
			}
			if got := after.HeldBytes - before.HeldBytes; got != held {
				t.Fatalf("held_bytes grew by %d, want %d", got, held)
			}
			if got := after.LiveBytes - before.LiveBytes; got < held {
				t.Fatalf("live_bytes grew by %d, want at least %d", got, held)
			}
			if after.CommittedBytes == nil || *after.CommittedBytes-*before.CommittedBytes < held {
				t.Fatalf("allocator's committed bytes did not grow by the %d held: before %v after %v", held, before.CommittedBytes, after.CommittedBytes)
			}
			// Not a difference: jemalloc counts its thread caches as allocated, and /alloc's
			// freed blocks leave those caches in between.
			if after.AllocatedBytes != nil && *after.AllocatedBytes < held {
				t.Fatalf("allocator reports %d bytes allocated while the server holds %d", *after.AllocatedBytes, held)
			}
		})
	}
}

func TestBadParametersGet400(t *testing.T) {
	p := start(t, ServerSpec("system", build(t, "system").Path, "", 1))
	for _, q := range []string{
		"/alloc?count=abc", "/alloc?count=100000000", "/alloc?order=random", "/alloc?count=100000&size=1MiB",
		"/json?items=-1", "/hold?bytes=1TB", "/hold?ms=9999999", "/large?min=30MB&max=5MB", "/large?live=0", "/large?max=1GB",
	} {
		code, body := get(t, "http://"+p.Addr+q)
		if code != 400 || strings.TrimSpace(body) == "" {
			t.Errorf("GET %s = %d %q, want 400 with a reason", q, code, body)
		}
	}
	if code, body := get(t, "http://"+p.Addr+"/json?items=3"); code != 200 || !json.Valid([]byte(body)) || strings.Count(body, `"id"`) != 3 {
		t.Errorf("/json?items=3 = %d %s", code, body)
	}
}

func TestPreloadedAllocatorIsTheOneInUse(t *testing.T) {
	bin := build(t, "system")
	for _, a := range Allocators[1:] {
		t.Run(a.Name, func(t *testing.T) {
			lib, err := a.PreloadPath()
			if err != nil {
				t.Fatal(err)
			}
			spec := ServerSpec("preload-"+a.Name, bin.Path, "", 1)
			spec.Preload = lib
			p := start(t, spec)
			s := stats(t, p)
			if s.Allocator != a.Name || !strings.Contains(s.MallocFrom, a.Library[:len(a.Library)-5]) {
				t.Fatalf("preloaded %s but /stats says allocator %q, malloc from %q", lib, s.Allocator, s.MallocFrom)
			}
		})
	}
}

func TestCustomCommandWithPortPlaceholder(t *testing.T) {
	self, _ := os.Executable()
	p := start(t, Spec{Name: "custom", Command: []string{self, "{port}"}, Env: []string{"ALLOCSCOPE_TEST_HELPER=serve"}})
	if code, body := get(t, "http://"+p.Addr+"/"); code != 200 || body != "hello" {
		t.Fatalf("GET / = %d %q", code, body)
	}
	if st := p.Stop(DefaultStopGrace); !st.Requested || st.Signal != "SIGTERM" {
		t.Fatalf("stop reported %+v, want a requested SIGTERM", st)
	}
}

func TestTargetThatNeverBecomesReadyIsNamedWithItsOutput(t *testing.T) {
	_, err := Start(context.Background(), Spec{Name: "broken", Command: []string{"sh", "-c", "echo cannot open config >&2; exit 3"}})
	if err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "cannot open config") || !strings.Contains(err.Error(), "code 3") {
		t.Fatalf("got %v, want an error naming the target, its exit and its output", err)
	}
	_, err = Start(context.Background(), Spec{Name: "silent", Command: []string{"sleep", "30"}, ReadyTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "silent") {
		t.Fatalf("got %v, want an error naming the silent target", err)
	}
}

func TestPortInUseIsReported(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	bin := build(t, "system")
	_, err = Start(context.Background(), Spec{Name: "taken", Command: []string{bin.Path, "--port", port}})
	if err == nil || !strings.Contains(err.Error(), "cannot listen") {
		t.Fatalf("got %v, want the server's own 'cannot listen' line", err)
	}
}

func alive(pid int) bool {
	_, ok := startTime(pid)
	return ok
}

// startTime is a live process's start time (clock ticks since boot); ok is false for a
// process that is gone or a zombie (it has exited; only its parent has yet to reap it).
func startTime(pid int) (ticks string, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 20 || fields[0] == "Z" {
		return "", false
	}
	return fields[19], true
}

// proc is one process, told apart by its start time from a later one given the same PID
// (pid_max is 32,768 here), so that "still alive" never means "its PID was reused".
type proc struct {
	pid   int
	start string
}

func identify(pid int) proc {
	start, _ := startTime(pid)
	return proc{pid: pid, start: start}
}

func (p proc) alive() bool {
	start, ok := startTime(p.pid)
	return ok && p.start != "" && start == p.start
}

// killParent runs a helper that starts spec like allocscope does, SIGKILLs the helper, and
// returns the target's PID, which must then disappear.
func killParent(t *testing.T, spec Spec, beforeKill func()) proc {
	t.Helper()
	self, _ := os.Executable()
	js, _ := json.Marshal(spec)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "ALLOCSCOPE_TEST_HELPER=parent", "ALLOCSCOPE_TEST_SPEC="+string(js))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var word string
	var pid int
	fmt.Fscan(out, &word, &pid)
	target := identify(pid)
	if word != "PID" || !target.alive() {
		t.Fatalf("helper did not start its target: %q %d", word, pid)
	}
	if beforeKill != nil {
		beforeKill()
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitFor(t, time.Minute, func() bool { return !target.alive() })
	return target
}

// waitFor polls cond until it holds or timeout passes, and says whether it held. The
// timeout only bounds a failure: on a busy machine the kernel may take seconds to do what
// it does in milliseconds on an idle one.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

func TestServerDiesWithKilledParent(t *testing.T) {
	bin := build(t, "jemalloc")
	if p := killParent(t, ServerSpec("jemalloc", bin.Path, "", 1), nil); p.alive() {
		syscall.Kill(p.pid, syscall.SIGKILL)
		t.Fatalf("server %d outlived its parent's kill -9", p.pid)
	}
}

// guardedChildDies runs script under the guard (it starts the helper server, "$0", and
// writes its PID to "$1"), kills the guard's parent with -9, and fails if that server lives on.
func guardedChildDies(t *testing.T, script string) {
	t.Helper()
	guardedChildDiesUnder(t, "guard", script)
}

func guardedChildDiesUnder(t *testing.T, helper, script string) {
	t.Helper()
	self, _ := os.Executable()
	spec := Spec{
		Name:    "guarded",
		Command: []string{"sh", "-c", script, self, t.TempDir() + "/child"},
		Guard:   []string{self},
		Env:     []string{"ALLOCSCOPE_TEST_HELPER=" + helper},
	}
	// The server may be up before sh, behind it in the run queue, has written its PID:
	// wait for the whole line.
	var child proc
	cmd := killParent(t, spec, func() {
		pidFile := spec.Command[4]
		var pid int
		if !waitFor(t, time.Minute, func() bool {
			b, err := os.ReadFile(pidFile)
			if err != nil || !strings.HasSuffix(string(b), "\n") {
				return false
			}
			pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
			return err == nil
		}) {
			t.Fatalf("sh never wrote its server's PID to %s", pidFile)
		}
		if child = identify(pid); !child.alive() {
			t.Fatalf("the guarded server %d is not running", pid)
		}
	})
	if cmd.alive() {
		t.Fatalf("command %d outlived its parent's kill -9", cmd.pid)
	}
	if !waitFor(t, time.Minute, func() bool { return !child.alive() }) {
		syscall.Kill(child.pid, syscall.SIGKILL)
		t.Fatalf("grandchild %d outlived allocscope's kill -9", child.pid)
	}
}

func TestGuardTakesForkedChildrenDownWithKilledParent(t *testing.T) {
	// sh forks the real server and waits: without the guard, only sh would get Pdeathsig.
	guardedChildDies(t, `ALLOCSCOPE_TEST_HELPER=serve "$0" {port} & echo "$!" > "$1"; wait`)
}

func TestGuardTakesDownAChildThatLeftTheGroup(t *testing.T) {
	// setsid puts the server in a session and group of its own: a kill of the guard's
	// group misses it, the subreaper's sweep does not.
	guardedChildDies(t, `ALLOCSCOPE_TEST_HELPER=serve setsid "$0" {port} & echo "$!" > "$1"; wait`)
}

func TestGuardOnAnyThreadTakesItsCommandDown(t *testing.T) {
	// Start's parent-death signal lands on the guard's first thread. It used to be SIGKILL,
	// and the guard's own prctl(SIGTERM) applied only to whichever thread ran it: when that
	// was another one, allocscope's kill -9 killed the guard outright and its command lived
	// on (CI saw this once in three runs).
	guardedChildDiesUnder(t, "guard-offthread", `ALLOCSCOPE_TEST_HELPER=serve "$0" {port} & echo "$!" > "$1"; wait`)
}

func TestHoldsNeverOvershootTheMemoryBudget(t *testing.T) {
	bin := build(t, "system")
	spec := ServerSpec("system", bin.Path, "", 2)
	spec.Command = append(spec.Command, "--memory-budget", "256MiB")
	p := start(t, spec)
	// 40 requests of 16 MiB at once against a budget of 16 of them: a check-then-add lets
	// several through at the edge; a reservation cannot.
	var wg sync.WaitGroup
	var ok, refused atomic.Int32
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Held for a minute: on a busy machine the 40 requests may be spread over
			// seconds, and a hold that ended would make room for one more.
			code, _ := get(t, "http://"+p.Addr+"/hold?bytes=16MiB&ms=60000")
			switch code {
			case 200:
				ok.Add(1)
			case 400:
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 16 || refused.Load() != 24 {
		t.Fatalf("%d holds of 16 MiB granted, %d refused, against a 256 MiB budget: want 16 and 24", ok.Load(), refused.Load())
	}
}

func TestAStalledRequestHeadIsClosed(t *testing.T) {
	bin := build(t, "system")
	spec := ServerSpec("system", bin.Path, "", 2)
	spec.Command = append(spec.Command, "--header-timeout", "1")
	p := start(t, spec)
	conn, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET / HT"))
	// The scan runs every second: closed within 3 s of a 1 s limit, or never. The read's
	// deadline only bounds a failure, generously for a busy machine.
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	_, err = conn.Read(make([]byte, 1))
	if err != io.EOF {
		t.Fatalf("the stalled connection was not closed by the server: %v", err)
	}
}
