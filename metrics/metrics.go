// Package metrics serves a run's live figures in the Prometheus text format, so that a
// Prometheus server (and Grafana behind it) can follow a long run. It reads run records
// only: every scrape takes a snapshot and reports each lane's latest sample.
package metrics

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source is the run as it is now.
type Source func() *record.Record

var laneLabels = []string{"lane", "allocator", "settings", "pid"}

func desc(name, help string, extra ...string) *prometheus.Desc {
	return prometheus.NewDesc("allocscope_"+name, help, append(append([]string(nil), laneLabels...), extra...), nil)
}

// Latency is exported as the last second's percentiles, one gauge each: the load
// generator's histogram lives in its worker process, and what reaches allocscope each
// second is that second's p50 and p99, not buckets that Prometheus could aggregate. (A
// "quantile" label is for summaries only, which promtool enforces.)
var (
	rssDesc     = desc("rss_bytes", "Resident set size of the lane's process (tree), from /proc/PID/statm.")
	vszDesc     = desc("vsz_bytes", "Virtual size of the lane's process (tree).")
	peakDesc    = desc("peak_rss_bytes", "The kernel's RSS high-water mark (VmHWM) since the current phase began.")
	pssDesc     = desc("pss_bytes", "Proportional set size, from smaps_rollup (read every 5 s).")
	heapDesc    = desc("heap_in_use_bytes", "What the allocator reports handing out (built-in server's /stats).")
	cpuDesc     = desc("cpu_ratio", "CPU used by the lane's process over the last interval, in cores (1 = one core busy).")
	threadsDesc = desc("threads", "Threads of the lane's process.")
	rpsDesc     = desc("requests_per_second", "Responses received from the lane in the load generator's last second.")
	errorsDesc  = desc("errors_total", "Failed connections and requests and non-2xx answers since the run began.")
	p50Desc     = desc("latency_p50_seconds", "The load generator's last second's median response latency.")
	p99Desc     = desc("latency_p99_seconds", "The load generator's last second's 99th percentile response latency.")
	upDesc      = desc("up", "1 while the lane's process runs, 0 once it has exited.")
	phaseDesc   = prometheus.NewDesc("allocscope_phase_info", "The run's current phase (baseline, load, cooldown, done) for each lane.", append(append([]string(nil), laneLabels...), "phase"), nil)
)

type collector struct{ src Source }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{rssDesc, vszDesc, peakDesc, pssDesc, heapDesc, cpuDesc, threadsDesc, rpsDesc, errorsDesc, p50Desc, p99Desc, upDesc, phaseDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	r := c.src()
	if r == nil {
		return
	}
	now := time.Since(r.Started)
	for _, t := range r.Targets {
		if len(t.Runs) == 0 {
			continue
		}
		run := t.Runs[len(t.Runs)-1]
		labels := []string{t.Name, t.Allocator, settings(t.Env), strconv.Itoa(run.PID)}
		gauge := func(d *prometheus.Desc, v float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(append([]string(nil), labels...), extra...)...)
		}
		up := 1.0
		if run.Exit != nil {
			up = 0
		}
		gauge(upDesc, up)
		gauge(phaseDesc, 1, string(run.Phases.PhaseAt(now)))
		if n := len(run.Samples); n > 0 {
			s := run.Samples[n-1]
			gauge(rssDesc, float64(s.RSSBytes))
			gauge(vszDesc, float64(s.VSZBytes))
			gauge(peakDesc, float64(max(s.PeakRSSBytes, s.RSSBytes)))
			gauge(cpuDesc, s.CPUPercent/100)
			gauge(threadsDesc, float64(s.Threads))
			if s.PSSBytes > 0 {
				gauge(pssDesc, float64(s.PSSBytes))
			}
		}
		if n := len(run.Heap); n > 0 && run.Heap[n-1].AllocatedBytes != nil {
			gauge(heapDesc, float64(*run.Heap[n-1].AllocatedBytes))
		}
		var errs uint64
		for _, l := range run.Load {
			errs += l.Errors + l.Non2xx
		}
		ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, float64(errs), labels...)
		if n := len(run.Load); n > 0 && run.Phases.PhaseAt(now) == record.PhaseLoad {
			l := run.Load[n-1]
			gauge(rpsDesc, float64(l.Requests))
			gauge(p50Desc, l.P50.Seconds())
			gauge(p99Desc, l.P99.Seconds())
		}
	}
}

// settings joins a lane's allocator environment as "K=V;K=V", sorted: one label value.
func settings(env map[string]string) string {
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ";")
}

// Handler serves the source's figures at /metrics.
func Handler(src Source) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{src: src})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// CheckAddr refuses an address that is not loopback unless public says the user means it:
// a run's figures and lane names are nobody else's business by default.
func CheckAddr(addr string, public bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return fmt.Errorf("--metrics-addr %q: use HOST:PORT, e.g. 127.0.0.1:9464", addr)
	}
	if public {
		return nil
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("--metrics-addr %s is reachable from the network: add --metrics-public to mean it, or use 127.0.0.1", addr)
}

// Serve listens on addr now (so a busy port is an error before anything starts) and
// serves in the background until stop is called.
func Serve(addr string, public bool, src Source) (bound net.Addr, stop func(), err error) {
	if err := CheckAddr(addr, public); err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics-addr %s: %v", addr, err)
	}
	srv := &http.Server{Handler: Handler(src), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return ln.Addr(), func() { srv.Close() }, nil
}
