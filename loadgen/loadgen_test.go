package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv("LOADGEN_TEST_WORKER") == "1" {
		os.Exit(ServeWorker(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

type countingServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newCountingServer(t *testing.T, h http.HandlerFunc) *countingServer {
	cs := &countingServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.hits.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(cs.Close)
	return cs
}

func run(t *testing.T, cfg Config) Result {
	t.Helper()
	g, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range g.Snapshots() {
	}
	return g.Wait()
}

func TestAmountMatchesServerCountExactly(t *testing.T) {
	forEachEngine(t, testAmountMatchesServerCountExactly)
}

func testAmountMatchesServerCountExactly(t *testing.T, engine string) {
	for _, p := range []int{1, 8} {
		s := newCountingServer(t, nil)
		r := run(t, Config{Engine: engine, URL: s.URL + "/x?y=1", Connections: 20, Amount: 5000, Pipelining: p, Duration: time.Minute})
		if r.Requests != 5000 || r.Sent != 5000 || s.hits.Load() != 5000 {
			t.Fatalf("pipelining %d: received %d, sent %d, server counted %d; want 5000 each", p, r.Requests, r.Sent, s.hits.Load())
		}
		if r.Status[2] != 5000 || r.Errors.Total() != 0 || r.Latency.Events != 5000 {
			t.Fatalf("pipelining %d: status %v errors %+v latency count %d", p, r.Status, r.Errors, r.Latency.Events)
		}
	}
}

func TestRequestCarriesMethodHeadersAndBody(t *testing.T) {
	forEachEngine(t, testRequestCarriesMethodHeadersAndBody)
}

func testRequestCarriesMethodHeadersAndBody(t *testing.T, engine string) {
	var got atomic.Value
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(fmt.Sprintf("%s %s %s %s", r.Method, r.URL.Path, r.Header.Get("X-Test"), b))
		w.WriteHeader(201)
	})
	r := run(t, Config{Engine: engine, URL: s.URL + "/post", Method: "POST", Headers: map[string]string{"X-Test": "yes"}, Body: "payload", Connections: 1, Amount: 3})
	if got.Load() != "POST /post yes payload" || r.Status[2] != 3 {
		t.Fatalf("server saw %q, status %v", got.Load(), r.Status)
	}
}

func TestChunkedAndLargeBodies(t *testing.T) { forEachEngine(t, testChunkedAndLargeBodies) }

func testChunkedAndLargeBodies(t *testing.T, engine string) {
	big := strings.Repeat("x", 300_000)
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.Write([]byte("part one "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part two"))
			return
		}
		io.WriteString(w, big)
	})
	for _, path := range []string{"/chunked", "/big"} {
		r := run(t, Config{Engine: engine, URL: s.URL + path, Connections: 4, Amount: 200, Pipelining: 2})
		if r.Requests != 200 || r.Errors.Total() != 0 {
			t.Fatalf("%s: %d responses, errors %+v", path, r.Requests, r.Errors)
		}
	}
}

func TestOpenLoopHoldsTheRate(t *testing.T) { forEachEngine(t, testOpenLoopHoldsTheRate) }

func testOpenLoopHoldsTheRate(t *testing.T, engine string) {
	s := newCountingServer(t, nil)
	r := run(t, Config{Engine: engine, URL: s.URL, Connections: 20, Rate: 1000, Duration: 3 * time.Second})
	// The schedule itself is tested without a clock (pacer_test.go). Here: an open loop
	// never sends more than its schedule holds (3,000, and at most one more per connection
	// at the edge), however fast the server, and it does send (a broken pacer sends none).
	if r.Requests > 3000+20 || r.Requests < 1000 {
		t.Fatalf("open loop at 1000 req/s for 3 s: %d responses, want at most 3,020 and not far below 3,000", r.Requests)
	}
	if !r.CoordinatedOmissionCorrected {
		t.Fatal("open loop result not marked as corrected for coordinated omission")
	}
}

func TestStalledServerShowsInCorrectedLatency(t *testing.T) {
	forEachEngine(t, testStalledServerShowsInCorrectedLatency)
}

func testStalledServerShowsInCorrectedLatency(t *testing.T, engine string) {
	// Every 50th request stalls 300 ms: a closed loop would hide the queue behind it.
	var n atomic.Int64
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%50 == 0 {
			time.Sleep(300 * time.Millisecond)
		}
	})
	r := run(t, Config{Engine: engine, URL: s.URL, Connections: 2, Rate: 200, Duration: 3 * time.Second})
	if r.Latency.P99 < 100*time.Millisecond {
		t.Fatalf("p99 %s: the stalls' queued requests should count from their scheduled time", r.Latency.P99)
	}
}

// misbehaving serves raw TCP: each connection gets handle's treatment.
func misbehaving(t *testing.T, handle func(net.Conn)) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return "http://" + l.Addr().String() + "/"
}

func readRequest(c net.Conn) bool {
	_, err := http.ReadRequest(bufio.NewReader(c))
	return err == nil
}

func TestErrorsAreClassified(t *testing.T) { forEachEngine(t, testErrorsAreClassified) }

func testErrorsAreClassified(t *testing.T, engine string) {
	closed := func() string {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/"
	}()
	cases := []struct {
		name  string
		url   string
		check func(Errors) bool
	}{
		{"refused", closed, func(e Errors) bool { return e.Connect > 0 }},
		{"reset", misbehaving(t, func(c net.Conn) { readRequest(c) }), func(e Errors) bool { return e.Reset > 0 }},
		{"timeout", misbehaving(t, func(c net.Conn) { readRequest(c); time.Sleep(2 * time.Second) }), func(e Errors) bool { return e.Timeout > 0 }},
		{"parse", misbehaving(t, func(c net.Conn) { readRequest(c); io.WriteString(c, "SSH-2.0-nope\r\n\r\n") }), func(e Errors) bool { return e.Parse > 0 }},
		{"non2xx", newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }).URL, func(e Errors) bool { return e.Non2xx > 0 }},
	}
	for _, c := range cases {
		r := run(t, Config{Engine: engine, URL: c.url, Connections: 4, Duration: 1200 * time.Millisecond, Timeout: 300 * time.Millisecond})
		if !c.check(r.Errors) {
			t.Errorf("%s: errors %+v", c.name, r.Errors)
		}
	}
}

func TestServerThatDiesMidRunIsCountedAndTheRunEnds(t *testing.T) {
	forEachEngine(t, testServerThatDiesMidRunIsCountedAndTheRunEnds)
}

func testServerThatDiesMidRunIsCountedAndTheRunEnds(t *testing.T, engine string) {
	s := newCountingServer(t, nil)
	g, err := Start(context.Background(), Config{Engine: engine, URL: s.URL, Connections: 10, Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	snaps := 0
	for range g.Snapshots() {
		snaps++
		if snaps == 1 {
			s.CloseClientConnections()
			s.Listener.Close()
		}
	}
	r := g.Wait()
	if r.Requests == 0 || r.Errors.Connect+r.Errors.Reset == 0 {
		t.Fatalf("requests %d, errors %+v: want some answered, then connect/reset errors", r.Requests, r.Errors)
	}
}

func TestPauseStopsSending(t *testing.T) { forEachEngine(t, testPauseStopsSending) }

func testPauseStopsSending(t *testing.T, engine string) {
	s := newCountingServer(t, nil)
	// Long enough for a loaded machine to deliver the seconds late: the test ends the load
	// itself once it has seen what it waits for.
	g, err := Start(context.Background(), Config{Engine: engine, URL: s.URL, Connections: 4, Duration: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// Waits on what happens, not on which second it happens in: answered, then paused until
	// a whole second passes with no answer (what was in flight when Pause took effect lands
	// in the second before), then answered again once resumed.
	const (
		sending = iota
		pausing
		resuming
		done
	)
	state := sending
	for snap := range g.Snapshots() {
		switch {
		case state == sending && snap.Requests > 0:
			g.Pause()
			state = pausing
		case state == pausing && snap.Requests == 0:
			g.Resume()
			state = resuming
		case state == resuming && snap.Requests > 0:
			g.Stop()
			state = done
		}
	}
	g.Wait()
	if state != done {
		t.Fatalf("the load stopped in state %d (0 sending, 1 paused but never a second without answers, 2 resumed but never answered again)", state)
	}
}

func TestPlanBeyondLimitsIsRefused(t *testing.T) {
	limits := Limits{OpenFiles: 20000, EphemeralPorts: 28232}
	one := Config{URL: "http://127.0.0.1:1/", Connections: 10000}
	if err := CheckPlan(limits, one); err != nil {
		t.Fatalf("10,000 connections fit: %v", err)
	}
	err := CheckPlan(limits, one, one, one)
	if err == nil || !strings.Contains(err.Error(), "own worker process") {
		t.Fatalf("3 × 10,000 in one process: got %v", err)
	}
	err = CheckPlan(limits, Config{URL: "http://127.0.0.1:1/", Connections: 25000})
	if err == nil || !strings.Contains(err.Error(), "-c 19936") {
		t.Fatalf("25,000 connections: got %v", err)
	}
	err = CheckPlan(Limits{OpenFiles: 1 << 20, EphemeralPorts: 1000}, Config{URL: "http://127.0.0.1:1/", Connections: 2000})
	if err == nil || !strings.Contains(err.Error(), "ip_local_port_range") {
		t.Fatalf("ports: got %v", err)
	}
	if _, err := Start(context.Background(), Config{URL: "http://127.0.0.1:1/", Connections: 30000}); err == nil {
		t.Fatal("Start accepted 30,000 connections under a 20,000 limit")
	}
}

func TestBadConfigsAreRefused(t *testing.T) {
	for _, c := range []Config{
		{URL: "http://127.0.0.1:1/", Connections: -1},
		{URL: "https://127.0.0.1/"},
		{URL: "http://127.0.0.1:1/", Pipelining: -2},
		{URL: "http://127.0.0.1:1/", Duration: time.Second, Warmup: 2 * time.Second},
		{URL: "http://127.0.0.1:1/", Rate: -5},
		{URL: "http://127.0.0.1:1/", Workers: -1},
		{URL: "http://127.0.0.1:1/", Engine: "kqueue"},
		{URL: "http://127.0.0.1:1/", Headers: map[string]string{"Bad Name": "x"}},
		{URL: "http://127.0.0.1:99999/"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}

func TestWorkerProcessRelaysSnapshotsAndResult(t *testing.T) {
	s := newCountingServer(t, nil)
	self, _ := os.Executable()
	os.Setenv("LOADGEN_TEST_WORKER", "1")
	defer os.Unsetenv("LOADGEN_TEST_WORKER")
	r, err := StartRemote(context.Background(), []string{self}, Config{URL: s.URL, Connections: 5, Duration: 2 * time.Second, Name: "remote", Engine: EngineEpoll})
	if err != nil {
		t.Fatal(err)
	}
	var snaps int
	var sum uint64
	// The seconds wait in the pipe until polled; those left at the worker's end come
	// with the first Poll after Done.
	count := func() {
		for _, snap := range r.Poll() {
			snaps++
			sum += snap.Requests
			if snap.Target != "remote" {
				t.Fatalf("snapshot for %q", snap.Target)
			}
		}
	}
	for snaps == 0 { // a second is there to poll while the load runs
		select {
		case <-r.Done():
			t.Fatal("the load ended before any of its seconds could be polled")
		default:
		}
		count()
		time.Sleep(20 * time.Millisecond)
	}
	<-r.Done()
	count()
	count()
	res := r.Wait()
	if snaps < 2 || res.Requests == 0 || res.Requests != sum || uint64(s.hits.Load()) < res.Requests {
		t.Fatalf("%d snapshots summing to %d, result %d, server %d", snaps, sum, res.Requests, s.hits.Load())
	}
	if res.Engine != EngineEpoll {
		t.Fatalf("the worker ran on %q, asked for epoll", res.Engine)
	}
	if _, err := StartRemote(context.Background(), []string{self}, Config{URL: "http://127.0.0.1:1/", Connections: 30000}); err == nil {
		t.Fatal("remote accepted an impossible plan")
	}
}

func TestRequestIsOnlyTheRequestLineHostAndWhatTheUserAdded(t *testing.T) {
	forEachEngine(t, testRequestIsOnlyTheRequestLineHostAndWhatTheUserAdded)
}

func testRequestIsOnlyTheRequestLineHostAndWhatTheUserAdded(t *testing.T, engine string) {
	requests := make(chan string, 1)
	url := misbehaving(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		if n == 0 {
			return // a connection closed without a request
		}
		requests <- string(buf[:n])
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	run(t, Config{Engine: engine, URL: url + "p?q=1", Connections: 1, Amount: 1})
	want := "GET /p?q=1 HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
	if got := <-requests; got != want {
		t.Fatalf("sent %q, want %q", got, want)
	}
	run(t, Config{Engine: engine, URL: url, Connections: 1, Amount: 1, Headers: map[string]string{"User-Agent": "me"}})
	if got := <-requests; !strings.Contains(got, "\r\nUser-Agent: me\r\n") {
		t.Fatalf("sent %q, want the user's User-Agent", got)
	}
}

// schedPolicies counts this process's threads by scheduling policy (0 normal, 3 batch).
func schedPolicies(t *testing.T) map[int]int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/sched")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread has exited
		}
		for _, line := range strings.Split(string(b), "\n") {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "policy" {
				p, _ := strconv.Atoi(strings.TrimSpace(value))
				counts[p]++
			}
		}
	}
	return counts
}

func TestClosedLoopEventLoopsRunAsSchedBatchAndGiveItBack(t *testing.T) {
	s := newCountingServer(t, nil)
	for _, c := range []struct {
		name      string
		rate      float64
		wantBatch int
	}{{"closed loop", 0, 3}, {"open loop", 500, 0}} {
		g, err := Start(context.Background(), Config{URL: s.URL, Connections: 6, Workers: 3, Rate: c.rate, Duration: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var during map[int]int
		for snap := range g.Snapshots() {
			if snap.Second == 1 {
				during = schedPolicies(t)
			}
		}
		g.Wait()
		if during[3] != c.wantBatch {
			t.Errorf("%s: %d SCHED_BATCH threads while running, want %d (policies %v)", c.name, during[3], c.wantBatch, during)
		}
		// The loops' threads end with them, so their policy never reaches other goroutines.
		// A thread exits a moment after its goroutine has returned, longer on a busy
		// machine: look until none is left (the bound only ends a failing test).
		left := 0
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if left = schedPolicies(t)[3]; left == 0 {
				break
			}
		}
		if left != 0 {
			t.Errorf("%s: %d SCHED_BATCH threads left after the run", c.name, left)
		}
	}
}

// forEachEngine runs a test with io_uring, where this machine has it, and with epoll.
func forEachEngine(t *testing.T, test func(t *testing.T, engine string)) {
	for _, engine := range []string{EngineUring, EngineEpoll} {
		t.Run(engine, func(t *testing.T) {
			if engine == EngineUring {
				if err := probeUring(); err != nil {
					t.Skipf("io_uring is not available here: %v", err)
				}
			}
			test(t, engine)
		})
	}
}

func TestServerClosingEveryConnectionIsFollowedExactly(t *testing.T) {
	forEachEngine(t, testServerClosingEveryConnectionIsFollowedExactly)
}

// Each response closes its connection, so sockets are closed and their numbers reused all
// the time: a request or a read meant for a closed socket must never land on its successor.
func testServerClosingEveryConnectionIsFollowedExactly(t *testing.T, engine string) {
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	r := run(t, Config{Engine: engine, URL: s.URL, Connections: 10, Amount: 2000, Duration: time.Minute})
	if r.Requests != 2000 || s.hits.Load() != 2000 || r.Errors.Total() != 0 {
		t.Fatalf("received %d, server counted %d, errors %+v; want 2000, 2000, none", r.Requests, s.hits.Load(), r.Errors)
	}
	if r.Engine != engine {
		t.Fatalf("ran on %q, asked for %q", r.Engine, engine)
	}
}

// The loops hold their Ps while they wait, so the process must keep one more P than all
// its generators' loops together, or the reporters would wait for a preemption signal.
func TestGeneratorsRunningAtOnceLeaveASpareP(t *testing.T) {
	// Start from 2 Ps whatever earlier tests or the machine's core count left, so the
	// growth to 7 is this test's own to see.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	s := newCountingServer(t, nil)
	var gens []*Generator
	for range 2 {
		g, err := Start(context.Background(), Config{URL: s.URL, Connections: 6, Workers: 3, Duration: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		gens = append(gens, g)
	}
	procs := runtime.GOMAXPROCS(0)
	for i, g := range gens {
		seconds := 0
		for range g.Snapshots() {
			seconds++
		}
		if r := g.Wait(); r.Requests == 0 || seconds < 2 {
			t.Errorf("generator %d: %d requests, %d snapshots", i, r.Requests, seconds)
		}
	}
	if procs < 7 {
		t.Errorf("GOMAXPROCS %d while 6 event loops ran, want at least 7", procs)
	}
}

// The cycles of a soak are merged from the worker's results: their percentiles come from
// the histogram the worker sends when asked, never a 0 for a latency it did not send.
func TestWorkerResultsMergeWithTheirPercentiles(t *testing.T) {
	s := newCountingServer(t, nil)
	self, _ := os.Executable()
	os.Setenv("LOADGEN_TEST_WORKER", "1")
	defer os.Unsetenv("LOADGEN_TEST_WORKER")
	var merged Result
	for range 2 {
		r, err := StartRemote(context.Background(), []string{self}, Config{URL: s.URL, Connections: 2, Amount: 500, Duration: time.Minute, Engine: EngineEpoll, KeepHistogram: true})
		if err != nil {
			t.Fatal(err)
		}
		<-r.Done()
		r.Poll()
		res := r.Wait()
		if res.Requests == 0 || res.Latency.P99 <= 0 {
			t.Fatalf("a worker's own result: %d requests, p99 %s", res.Requests, res.Latency.P99)
		}
		merged = Merge(merged, res)
	}
	if merged.Requests < 1000 || merged.Latency.P50 <= 0 || merged.Latency.P99 <= 0 || merged.Latency.P99 > merged.Latency.Max {
		t.Fatalf("merged: %d requests, p50 %s p99 %s max %s", merged.Requests, merged.Latency.P50, merged.Latency.P99, merged.Latency.Max)
	}
}
