package external

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/servers"
)

// The test binary stands in for allocscope's own guard.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == servers.GuardCommand {
		os.Exit(servers.RunGuard(os.Args[3:]))
	}
	os.Exit(m.Run())
}

func guard(t *testing.T) []string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{self, servers.GuardCommand, "--"}
}

func TestTemplate(t *testing.T) {
	tmpl, err := ParseTemplate("wrk -c{connections} -d{duration} --latency {url} # {host} {port} {name} {lane} {csv}")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Expand(Values{URL: "http://127.0.0.1:8080/alloc?count=1&size=2", Connections: 50, Duration: 1500 * time.Millisecond, Name: "jemalloc", Lane: 1, CSV: "/tmp/a b/jemalloc-1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "wrk -c50 -d2s --latency 'http://127.0.0.1:8080/alloc?count=1&size=2' # 127.0.0.1 8080 jemalloc 1 '/tmp/a b/jemalloc-1'"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !tmpl.PerLane() {
		t.Error("a command with {url} is per lane")
	}
	for _, bad := range []struct{ text, says string }{{"", "empty"}, {"  ", "empty"}, {"wrk {uri}", "unknown placeholder {uri}"}} {
		if _, err := ParseTemplate(bad.text); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%q: got %v, want an error saying %q", bad.text, err, bad.says)
		}
	}
	if tmpl, _ := ParseTemplate("locust -f x.py --master"); tmpl.PerLane() {
		t.Error("a command without an address is not per lane")
	}
}

func TestFailingCommandEndsWithItsStderr(t *testing.T) {
	r, err := Start(context.Background(), Spec{Name: "a", Command: "echo starting >&2; echo 'bad flag -x' >&2; exit 3", Guard: guard(t), Deadline: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	o := r.Wait()
	if !o.Failed() || o.Code != 3 || o.Stopped {
		t.Fatalf("outcome %+v, want a failure with code 3", o)
	}
	if got := strings.Join(o.Stderr, "|"); got != "starting|bad flag -x" {
		t.Errorf("stderr %q", got)
	}
}

func TestMissingToolFails(t *testing.T) {
	r, err := Start(context.Background(), Spec{Name: "a", Command: "no-such-load-tool-here -c 1", Guard: guard(t), Deadline: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if o := r.Wait(); !o.Failed() || o.Code != 127 || !strings.Contains(strings.Join(o.Stderr, " "), "not found") {
		t.Fatalf("outcome %+v, want sh's 127 and its 'not found'", o)
	}
}

// A command that outlives its deadline is stopped, with whatever it forked.
func TestDeadlineStopsTheWholeTree(t *testing.T) {
	pids := t.TempDir() + "/pids"
	r, err := Start(context.Background(), Spec{Name: "a", Command: "sleep 300 & echo $! > " + pids + "; sleep 300", Guard: guard(t), Deadline: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	o := r.Wait()
	if !o.Stopped || o.Failed() {
		t.Fatalf("outcome %+v, want stopped", o)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The guard SIGKILLed it before it exited: it is dying, a zombie or gone. Wait for
	// that (the test's own timeout bounds the wait); it would sleep on for 300s otherwise.
	for !deadOrZombie(child) {
		time.Sleep(10 * time.Millisecond)
	}
}

func deadOrZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	return strings.HasPrefix(strings.TrimSpace(s[strings.LastIndexByte(s, ')')+1:]), "Z")
}

func TestCancelStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Start(ctx, Spec{Name: "a", Command: "exec sleep 300", Guard: guard(t), Deadline: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if r.PID() == 0 {
		t.Fatal("no PID")
	}
	cancel()
	if o := r.Wait(); !o.Stopped {
		t.Fatalf("outcome %+v, want stopped", o)
	}
}
