package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/servers"
)

// fetchStatsMain writes the built-in server's /stats at addr to file: a load command ends
// with it, so the server's own counters are read right after the tool's last request.
func fetchStatsMain(addr, file string) int {
	st, err := servers.FetchStats(context.Background(), &http.Client{}, addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return 1
	}
	return 0
}

func needTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (make test installs Debian's %s)", name, pkg)
	}
}

// serverStats reads what fetchStatsMain wrote for lane name.
func serverStats(t *testing.T, dir, name string) servers.Stats {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatalf("%s: the load command did not read the server's counters: %v", name, err)
	}
	var st servers.Stats
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// wrk loads both lanes at once; its summary is each lane's load result, and its request
// count is what the servers counted.
func TestLoadCommandWrk(t *testing.T) {
	needTool(t, "wrk", "wrk")
	o := shortPlan(t, "system", "jemalloc")
	dir := t.TempDir()
	o.Path, o.Connections = "/alloc?count=4&size=512", 4
	o.ExternalLoad = "wrk -t1 -c{connections} -d{duration} --latency {url} && " + o.Self[0] + " __fetchstats {host}:{port} " + dir + "/{name}.json"
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Plan.ExternalLoad || rec.Plan.LoadCommand != o.ExternalLoad {
		t.Errorf("plan: external %v, load command %q", rec.Plan.ExternalLoad, rec.Plan.LoadCommand)
	}
	for _, tg := range rec.Targets {
		run := tg.Runs[0]
		res := run.Result
		if res == nil || res.Tool != "wrk" || res.Requests == 0 || res.ReqPerSec <= 0 || res.NoPercentiles || res.P99 == 0 {
			t.Fatalf("%s: result %+v, want wrk's figures; events %v", tg.Name, res, rec.Events)
		}
		// wrk counts the answers it read; the server also answered what was in flight
		// when wrk stopped, at most one request per connection.
		served := serverStats(t, dir, tg.Name).RequestsByPath["/alloc"]
		if served < res.Requests || served > res.Requests+uint64(o.Connections) {
			t.Errorf("%s: wrk read %d answers, the server served %d requests to /alloc", tg.Name, res.Requests, served)
		}
		if len(run.Samples) == 0 || run.Peaks[record.PhaseLoad].Bytes == 0 || len(run.Client) == 0 {
			t.Errorf("%s: %d samples, load peak %v, %d samples of the load tool", tg.Name, len(run.Samples), run.Peaks[record.PhaseLoad], len(run.Client))
		}
	}
	for _, ev := range rec.Events {
		if ev.Kind == record.EventLoadDied || ev.Kind == record.EventWarning || ev.Kind == record.EventError {
			t.Errorf("event %s: %s", ev.Kind, ev.Message)
		}
	}
}

// A load command that fails is an event on its lane with its last words, and the run
// goes on through its cooldown: no hang, no figures made up.
func TestLoadCommandThatFails(t *testing.T) {
	o := shortPlan(t, "system")
	o.ExternalLoad = "echo 'wrk: invalid option -- z' >&2; exit 1"
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := rec.Targets[0].Runs[0]
	if run.Result != nil || !strings.Contains(run.LoadError, "exited with code 1: wrk: invalid option -- z") {
		t.Errorf("result %+v, load error %q", run.Result, run.LoadError)
	}
	died := false
	for _, ev := range rec.Events {
		died = died || ev.Kind == record.EventLoadDied && ev.Target == "system" && strings.Contains(ev.Message, "invalid option")
	}
	if !died {
		t.Errorf("no load-died event naming the tool's error: %v", rec.Events)
	}
	if rec.State != record.StateDone || run.Phases.CooldownEnd-run.Phases.LoadEnd < o.Cooldown {
		t.Errorf("state %s, phases %+v: the run did not go through its cooldown", rec.State, run.Phases)
	}
}

// A tool that ends at once without an error leaves the lane's figures unknown, and says
// the lane had load for that long only.
func TestLoadCommandThatEndsEarly(t *testing.T) {
	o := shortPlan(t, "system")
	// A load phase long enough that the command's end, guard and all, is early however
	// busy the machine (beside a CPU hog under -race, starting the guard took over half of
	// a 2 s phase); the phase ends with the command, so the test does not wait it out.
	o.Duration = time.Minute
	o.ExternalLoad = "echo {url} > /dev/null"
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := rec.Targets[0].Runs[0]
	if run.Result != nil || run.LoadError != "" {
		t.Errorf("result %+v, load error %q: want unknown figures and no error", run.Result, run.LoadError)
	}
	warned := false
	for _, ev := range rec.Events {
		warned = warned || ev.Kind == record.EventWarning && strings.Contains(ev.Message, "ended after")
	}
	if !warned {
		t.Errorf("no warning about the early end: %v", rec.Events)
	}
	var md bytes.Buffer
	if err := report.Markdown(&md, rec); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(md.String(), "n/a (external load)"); got < 4 {
		t.Errorf("the summary says n/a (external load) %d times, want 4 (req/s, p50, p99, errors):\n%s", got, md.String())
	}
}

// freePorts finds n consecutive free ports on loopback, for {lane}-numbered masters.
// They are sought below the ephemeral range, where no outgoing connection takes one.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 100; try++ {
		base := 20000 + rand.IntN(10000)
		var ls []net.Listener
		for k := 0; k < n; k++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+k))
			if err != nil {
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if len(ls) == n {
			return base
		}
	}
	t.Fatal("no consecutive free ports")
	return 0
}

// Load from several machines is Locust's distributed mode: --load-command runs each
// lane's master, and workers join it from anywhere (here two per master, on loopback).
// The masters' request counts are what the servers counted.
func TestLocustMasterAndTwoWorkers(t *testing.T) {
	needTool(t, "locust", "python3-locust")
	locustfile, err := filepath.Abs("../loadgen/external/testdata/locustfile.py")
	if err != nil {
		t.Fatal(err)
	}
	o := shortPlan(t, "system", "jemalloc")
	o.Duration = 3 * time.Second
	// Six Pythons start on a busy machine: the masters end when their workers have run
	// 3s; the grace only keeps a broken run from going on for ever.
	o.ExternalGrace = 2 * time.Minute
	dir := t.TempDir()
	base := freePorts(t, 2)
	const users = 4
	o.ExternalLoad = fmt.Sprintf("locust -f %s --headless --master --master-bind-host 127.0.0.1 --master-bind-port $((%d + {lane})) --expect-workers 2 -u %d -r %d -t {duration} --csv {csv} --host http://{host}:{port} && %s __fetchstats {host}:{port} %s/{name}.json",
		locustfile, base, users, users, o.Self[0], dir)
	for lane := 0; lane < 2; lane++ {
		for w := 0; w < 2; w++ {
			cmd := exec.Command("locust", "-f", locustfile, "--worker", "--master-host", "127.0.0.1", "--master-port", fmt.Sprint(base+lane))
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			log, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d-%d.log", lane, w)))
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = log, log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); log.Close(); close(done) }()
			// A worker quits when its master does; one whose master never came is stopped.
			t.Cleanup(func() {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
			})
		}
	}
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(dir, "worker-*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", filepath.Base(l), b)
			}
		}
	}()
	for _, tg := range rec.Targets {
		res := tg.Runs[0].Result
		if res == nil || res.Tool != "locust" || res.Requests == 0 {
			t.Fatalf("%s: result %+v, want the master's figures; events %v", tg.Name, res, rec.Events)
		}
		st := serverStats(t, dir, tg.Name)
		// The readiness check asked for / once; a request in flight when the master
		// stopped its users was served but not counted by Locust.
		served := st.RequestsByPath["/"] + st.RequestsByPath["/alloc"] - 1
		if served < res.Requests || served > res.Requests+users {
			t.Errorf("%s: Locust counted %d requests, the server served %d (%v)", tg.Name, res.Requests, served, st.RequestsByPath)
		}
		t.Logf("%s: Locust %d requests (%.0f req/s), server %d", tg.Name, res.Requests, res.ReqPerSec, served)
	}
}
