package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// remoteServer starts a built-in server on a known port, as if on another host, and a
// process-exporter that watches it alone; it returns the server's URL and pid and the
// exporter's scrape address.
func remoteServer(t *testing.T) (url string, pid int, exporter string, stopExporter func()) {
	t.Helper()
	pe, err := exec.LookPath("prometheus-process-exporter")
	if err != nil {
		t.Skip("prometheus-process-exporter is not installed (make test installs Debian's)")
	}
	a, _ := servers.LookupAllocator("system")
	bin, err := servers.NewBuilder().Build(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	port := freeLoopbackPort(t)
	srv := exec.Command(bin.Path, "--port", strconv.Itoa(port))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	dir := t.TempDir()
	config := fmt.Sprintf("process_names:\n  - name: api\n    cmdline:\n      - '--port %d$'\n", port)
	os.WriteFile(filepath.Join(dir, "pe.yml"), []byte(config), 0o644)
	exporter = fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
	pex := exec.Command(pe, "-config.path", filepath.Join(dir, "pe.yml"), "-web.listen-address", exporter)
	if err := pex.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() { pex.Process.Kill(); pex.Wait() }
	t.Cleanup(stop)
	// Hold 64 MiB for the test's length: process-exporter reads RSS from /proc/PID/stat,
	// which on this kernel runs some 24 pages behind statm (per-CPU counter batching), 4%
	// of an idle 2.7 MiB server but nothing next to a real working set.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if out, err := exec.Command("curl", "-sf", fmt.Sprintf("http://127.0.0.1:%d/hold?bytes=64MiB&ms=60000", port)).Output(); err == nil && len(out) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the remote server never answered")
		}
	}
	// Both must answer before the test goes on.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		out, _ := exec.Command("curl", "-sf", "http://"+exporter+"/metrics").Output()
		if strings.Contains(string(out), `groupname="api",memtype="resident"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process-exporter never showed the server: %s", out)
		}
	}
	return fmt.Sprintf("http://127.0.0.1:%d/", port), srv.Process.Pid, exporter, stop
}

func TestRemoteLanesFromProcessExporterAndPromQLAgreeWithProc(t *testing.T) {
	url, pid, exporter, _ := remoteServer(t)
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed")
	}
	dir := t.TempDir()
	base := startPrometheus(t, promBin, exporter, freeLoopbackPort(t))
	query := `namedprocess_namegroup_memory_bytes{groupname="api",memtype="resident"}`
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(300 * time.Millisecond) {
		if res, err := promQuery(base, query); err == nil && len(res) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Prometheus never scraped the exporter")
		}
	}
	// /proc of the server, read alongside the run, to set each remote reading against.
	type reading struct {
		at  time.Time
		rss uint64
	}
	var procReadings []reading
	fs, _ := probe.NewFS(probe.DefaultRoot)
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			if p, err := fs.ReadProcess(pid, 0); err == nil {
				procReadings = append(procReadings, reading{time.Now(), p.RSSBytes})
			}
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	save := filepath.Join(dir, "run.json")
	_, stderr, code := allocscope(t, "run", "--headless", "-c", "10", "-d", "2", "--baseline", "3s", "--cooldown", "3s", "--save", save,
		"--target", "exporter="+url, "--memory-from", "exporter=prom+http://"+exporter+"/metrics?groupname=api",
		"--target", "promql="+url, "--memory-from", "promql=promql+"+base+"/?query="+query)
	close(done)
	<-watched
	if code != 0 {
		t.Fatalf("run with remote lanes: exit %d: %s", code, stderr)
	}
	rec, err := record.Load(save)
	if err != nil {
		t.Fatal(err)
	}
	// At the same moment: the /proc reading nearest in time to each remote reading taken
	// while the server sat idle (baseline, and cooldown once the connections closed).
	nearest := func(at time.Time) uint64 {
		best, gap := uint64(0), time.Hour
		for _, r := range procReadings {
			if d := r.at.Sub(at).Abs(); d < gap {
				best, gap = r.rss, d
			}
		}
		return best
	}
	for _, tg := range rec.Targets {
		run := tg.Runs[0]
		if tg.Kind != record.KindRemote || len(run.Samples) < 3 || run.Result == nil || run.Result.Requests == 0 {
			t.Fatalf("%s: kind %s, %d samples, result %+v", tg.Name, tg.Kind, len(run.Samples), run.Result)
		}
		compared := 0
		for _, smp := range run.Samples {
			phase := run.Phases.PhaseAt(smp.T)
			if phase == record.PhaseLoad || (phase == record.PhaseCooldown && smp.T < run.Phases.LoadEnd+time.Second) {
				continue
			}
			want := nearest(rec.Started.Add(smp.T))
			if d := float64(smp.RSSBytes)/float64(want) - 1; d > 0.02 || d < -0.02 {
				t.Fatalf("%s lane at %.1f s: %d bytes, /proc %d (%.1f%% off)", tg.Name, smp.T.Seconds(), smp.RSSBytes, want, 100*d)
			}
			compared++
		}
		if compared < 2 {
			t.Fatalf("%s: only %d idle readings to compare", tg.Name, compared)
		}
	}
}

func TestBadMemorySourcesAreRefusedBeforeTheLoad(t *testing.T) {
	url, _, exporter, _ := remoteServer(t)
	dead := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
	for _, c := range []struct {
		source, want string
	}{
		{"prom+http://" + dead + "/metrics?groupname=api", "is unreachable"},
		{"prom+http://" + exporter + "/metrics?groupname=nope", `no namedprocess_namegroup_memory_bytes series matches {groupname="nope",memtype="resident"}`},
		{"prom+http://" + exporter + "/metrics?metric=no_such_metric", "has no no_such_metric metric"},
		{"prom+http://" + exporter + "/metrics?metric=namedprocess_namegroup_cpu_seconds_total", "2 namedprocess_namegroup_cpu_seconds_total series match {}: narrow the selector"},
		{"http://" + exporter + "/metrics", "use prom+http://"},
	} {
		_, stderr, code := allocscope(t, "run", "--headless", "-c", "10", "-d", "1", "--baseline", "0", "--cooldown", "0",
			"--target", "api="+url, "--memory-from", "api="+c.source)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("--memory-from %s: exit %d, stderr %q; want one line with %q", c.source, code, stderr, c.want)
		}
	}
	_, stderr, code := allocscope(t, "run", "--headless", "--target", "api="+url)
	if code != 2 || !strings.Contains(stderr, "say where its memory is read with --memory-from") {
		t.Errorf("a remote target without a source: exit %d: %s", code, stderr)
	}
}

func TestAVanishedSourceEndsItsLaneAndTheOthersGoOn(t *testing.T) {
	url, _, exporter, stopExporter := remoteServer(t)
	save := filepath.Join(t.TempDir(), "run.json")
	cmd := exec.Command(binary, "run", "--headless", "--allocators", "system", "-c", "10", "-d", "6", "--baseline", "1s", "--cooldown", "0",
		"--save", save, "--target", "api="+url, "--memory-from", "api=prom+http://"+exporter+"/metrics?groupname=api")
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The source vanishes once the load runs, however long a busy machine took to start it.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(stderr.String(), "req/s"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the load never started: %s", stderr.String())
		}
	}
	stopExporter()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the run failed when one lane's source vanished: %v; %s", err, stderr.String())
	}
	rec, err := record.Load(save)
	if err != nil {
		t.Fatal(err)
	}
	var api, local record.TargetRun
	for _, tg := range rec.Targets {
		if tg.Name == "api" {
			api = tg.Runs[0]
		} else {
			local = tg.Runs[0]
		}
	}
	if api.SourceError == "" || local.Result == nil || local.Result.Requests == 0 {
		t.Fatalf("api source error %q; the local lane's result %+v", api.SourceError, local.Result)
	}
	found := false
	for _, ev := range rec.Events {
		found = found || ev.Kind == "source-lost"
	}
	if !found {
		t.Fatal("no source-lost event")
	}
}
