package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/allocscope/allocscope/probe"
)

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func promQuery(base, query string) ([]promSample, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []promSample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	return body.Data.Result, nil
}

// A real Prometheus scrapes a run's endpoint; a PromQL query through its API must give each
// lane's RSS within 1% of /proc at the same moment. The servers sit idle, so RSS settles,
// but a lane just started may still be growing when first scraped, and a busy machine
// delays every step: the test waits for agreement, and fails only if none comes.
func TestPrometheusScrapesEachLanesRSS(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (make test installs Debian's)")
	}
	dir := t.TempDir()
	metricsPort, promPort := freeLoopbackPort(t), freeLoopbackPort(t)
	run := exec.Command(binary, "run", "--headless", "--allocators", "system,jemalloc", "-c", "10", "-d", "2", "--baseline", "5m",
		"--cooldown", "0", "--save", filepath.Join(dir, "run.json"), "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort))
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { run.Process.Signal(syscall.SIGTERM); run.Wait() }()
	base := startPrometheus(t, promBin, fmt.Sprintf("127.0.0.1:%d", metricsPort), promPort)
	fs, _ := probe.NewFS(probe.DefaultRoot)
	// The bound only ends a failing test; the baseline outlasts it.
	deadline := time.Now().Add(3 * time.Minute)
	for ; ; time.Sleep(500 * time.Millisecond) {
		res, err := promQuery(base, "allocscope_rss_bytes")
		off := ""
		if err != nil || len(res) != 2 {
			off = fmt.Sprintf("Prometheus has %d lanes' RSS (%v), want 2", len(res), err)
		}
		for _, s := range res {
			pid, _ := strconv.Atoi(s.Metric["pid"])
			got, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
			p, err := fs.ReadProcess(pid, 0)
			if err != nil {
				t.Fatalf("lane %s pid %d: %v", s.Metric["lane"], pid, err)
			}
			if !strings.Contains("system jemalloc", s.Metric["lane"]) || s.Metric["allocator"] == "" {
				t.Fatalf("labels %v", s.Metric)
			}
			if d := got/float64(p.RSSBytes) - 1; d > 0.01 || d < -0.01 {
				off = fmt.Sprintf("lane %s: Prometheus says %.0f bytes, /proc %d (%.1f%% off)", s.Metric["lane"], got, p.RSSBytes, 100*d)
			}
		}
		if off == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus and /proc never agreed within 1%%: %s", off)
		}
	}
}

// startPrometheus runs a real Prometheus on loopback that scrapes target every second,
// stopped when the test ends; it returns its HTTP API's base URL.
func startPrometheus(t *testing.T, promBin, target string, port int) string {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: allocscope-test\n    static_configs:\n      - targets: ['%s']\n", target)
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644)
	prom := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prom.Process.Kill(); prom.Wait() })
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

func TestMetricsAddrRefusals(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	short := []string{"run", "--headless", "--allocators", "system", "-c", "10", "-d", "1", "--baseline", "0", "--cooldown", "0"}
	for _, c := range []struct {
		addr, want string
	}{
		{busy.Addr().String(), "address already in use"},
		{"0.0.0.0:9464", "add --metrics-public to mean it"},
		{"9464", "use HOST:PORT"},
	} {
		_, stderr, code := allocscope(t, append(short, "--metrics-addr", c.addr)...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("--metrics-addr %s: exit %d, stderr %q; want one line with %q", c.addr, code, stderr, c.want)
		}
	}
}
