package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

func fixedRecord() *record.Record {
	allocated := uint64(3 << 20)
	return &record.Record{
		Started: time.Now().Add(-5 * time.Second),
		Targets: []record.Target{{
			Name: "jemalloc", Allocator: "jemalloc", Env: map[string]string{"MALLOC_CONF": "background_thread:true"},
			Runs: []record.TargetRun{{
				PID:     4242,
				Phases:  record.Phases{LoadStart: time.Second},
				Samples: []record.Sample{{T: 4 * time.Second, RSSBytes: 10 << 20, VSZBytes: 100 << 20, PeakRSSBytes: 12 << 20, CPUPercent: 50, Threads: 3}},
				Heap:    []record.HeapStats{{T: 4 * time.Second, AllocatedBytes: &allocated}},
				Load:    []record.LoadTick{{T: 4 * time.Second, Requests: 1234, Errors: 2, P50: time.Millisecond, P99: 9 * time.Millisecond}},
			}},
		}},
	}
}

func scrape(t *testing.T, rec *record.Record) string {
	t.Helper()
	srv := httptest.NewServer(Handler(func() *record.Record { return rec }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestLanesAreExposedWithTheirLabels(t *testing.T) {
	out := scrape(t, fixedRecord())
	labels := `allocator="jemalloc",lane="jemalloc",pid="4242",settings="MALLOC_CONF=background_thread:true"`
	for _, want := range []string{
		"allocscope_rss_bytes{" + labels + "} 1.048576e+07",
		"allocscope_peak_rss_bytes{" + labels + "} 1.2582912e+07",
		"allocscope_heap_in_use_bytes{" + labels + "} 3.145728e+06",
		"allocscope_cpu_ratio{" + labels + "} 0.5",
		"allocscope_requests_per_second{" + labels + "} 1234",
		"allocscope_errors_total{" + labels + "} 2",
		"allocscope_latency_p99_seconds{" + labels + "} 0.009",
		`allocscope_phase_info{allocator="jemalloc",lane="jemalloc",phase="load",pid="4242",settings="MALLOC_CONF=background_thread:true"} 1`,
		"allocscope_up{" + labels + "} 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the exposition lacks %q:\n%s", want, out)
		}
	}
}

func TestPromtoolFindsNothingToFix(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (make test installs Debian's prometheus)")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape(t, fixedRecord()))
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("promtool check metrics: %v: %s", err, out)
	}
}

func TestAddressesBeyondLoopbackNeedIntent(t *testing.T) {
	for _, c := range []struct {
		addr   string
		public bool
		ok     bool
	}{
		{"127.0.0.1:9464", false, true}, {"localhost:9464", false, true}, {"[::1]:9464", false, true},
		{"0.0.0.0:9464", false, false}, {"0.0.0.0:9464", true, true}, {"9464", false, false}, {"10.1.2.3:9464", false, false},
	} {
		if err := CheckAddr(c.addr, c.public); (err == nil) != c.ok {
			t.Errorf("CheckAddr(%q, public %v) = %v", c.addr, c.public, err)
		}
	}
}
