// Package remote reads a lane's memory from Prometheus instead of /proc, for a service on
// another host: an exporter's scrape endpoint (process-exporter, or a service's own
// process_resident_memory_bytes) or a Prometheus server's query API. It ships no agent.
package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Source is where a lane's memory comes from.
type Source struct {
	// Spec is the source as written: prom+http://… or promql+http://…
	Spec string
	// scrape: an exporter's text endpoint, its series picked by matchers.
	scrapeURL string
	metric    string
	matchers  map[string]string
	// query: a Prometheus server's query API and a PromQL expression.
	queryURL string
	query    string
	client   *http.Client
}

// Reading is a source's figures at one moment.
type Reading struct {
	RSSBytes uint64
	// VSZBytes is 0 where the source does not give it.
	VSZBytes uint64
}

// Default metrics tried, in order, when a scrape source names none.
const (
	processExporterMetric = "namedprocess_namegroup_memory_bytes"
	ownProcessMetric      = "process_resident_memory_bytes"
)

// Parse reads a --memory-from source:
//
//	prom+http://HOST:PORT/metrics?LABEL=VALUE&…[&metric=NAME]   an exporter's scrape endpoint
//	promql+http://HOST:PORT/?query=EXPR                          a Prometheus server's query API
func Parse(spec string) (Source, error) {
	s := Source{Spec: spec, client: &http.Client{Timeout: 5 * time.Second}}
	scheme, rest, ok := strings.Cut(spec, "+")
	if !ok || !strings.HasPrefix(rest, "http://") && !strings.HasPrefix(rest, "https://") {
		return s, fmt.Errorf("memory source %q: use prom+http://HOST:PORT/metrics?groupname=NAME or promql+http://HOST:PORT/?query=EXPR", spec)
	}
	u, err := url.Parse(rest)
	if err != nil || u.Host == "" {
		return s, fmt.Errorf("memory source %q: not a URL", spec)
	}
	q := u.Query()
	switch scheme {
	case "prom":
		s.metric = q.Get("metric")
		q.Del("metric")
		s.matchers = map[string]string{}
		for k := range q {
			s.matchers[k] = q.Get(k)
		}
		u.RawQuery = ""
		s.scrapeURL = u.String()
	case "promql":
		s.query = q.Get("query")
		if s.query == "" {
			return s, fmt.Errorf("memory source %q: promql+ needs ?query=EXPR", spec)
		}
		u.RawQuery = ""
		u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/query"
		s.queryURL = u.String()
	default:
		return s, fmt.Errorf("memory source %q: %q is neither prom nor promql", spec, scheme)
	}
	return s, nil
}

// Read fetches the source's figures now. Each error is one line naming the source.
func (s Source) Read(ctx context.Context) (Reading, error) {
	if s.queryURL != "" {
		return s.readQuery(ctx)
	}
	return s.readScrape(ctx)
}

func (s Source) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("memory source %s is unreachable: %v", s.Spec, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("memory source %s answered %s", s.Spec, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

func (s Source) readScrape(ctx context.Context) (Reading, error) {
	body, err := s.get(ctx, s.scrapeURL)
	if err != nil {
		return Reading{}, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return Reading{}, fmt.Errorf("memory source %s: not the Prometheus text format: %v", s.Spec, err)
	}
	names := []string{s.metric}
	if s.metric == "" {
		names = []string{processExporterMetric, ownProcessMetric}
	}
	for _, name := range names {
		fam, ok := families[name]
		if !ok {
			continue
		}
		if name == processExporterMetric {
			rss, err := s.pick(fam, map[string]string{"memtype": "resident"})
			if err != nil {
				return Reading{}, err
			}
			r := Reading{}
			if r.RSSBytes, err = s.bytes("RSS", rss, MaxRSSBytes); err != nil {
				return Reading{}, err
			}
			if vsz, err := s.pick(fam, map[string]string{"memtype": "virtual"}); err == nil {
				if r.VSZBytes, err = s.bytes("VSZ", vsz, MaxVSZBytes); err != nil {
					return Reading{}, err
				}
			}
			return r, nil
		}
		v, err := s.pick(fam, nil)
		if err != nil {
			return Reading{}, err
		}
		rss, err := s.bytes("RSS", v, MaxRSSBytes)
		return Reading{RSSBytes: rss}, err
	}
	return Reading{}, fmt.Errorf("memory source %s has no %s metric", s.Spec, strings.Join(names, " or "))
}

// pick is the one series of fam whose labels match the source's matchers and extra.
func (s Source) pick(fam *dto.MetricFamily, extra map[string]string) (float64, error) {
	var found []float64
	for _, m := range fam.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		if !matches(labels, s.matchers) || !matches(labels, extra) {
			continue
		}
		switch {
		case m.Gauge != nil:
			found = append(found, m.Gauge.GetValue())
		case m.Untyped != nil:
			found = append(found, m.Untyped.GetValue())
		case m.Counter != nil:
			found = append(found, m.Counter.GetValue())
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return 0, fmt.Errorf("memory source %s: no %s series matches %s", s.Spec, fam.GetName(), describe(s.matchers, extra))
	}
	return 0, fmt.Errorf("memory source %s: %d %s series match %s: narrow the selector", s.Spec, len(found), fam.GetName(), describe(s.matchers, extra))
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func describe(a, b map[string]string) string {
	var kv []string
	for _, m := range []map[string]string{a, b} {
		for k, v := range m {
			kv = append(kv, k+"="+strconv.Quote(v))
		}
	}
	sort.Strings(kv)
	if len(kv) == 0 {
		return "{}"
	}
	return "{" + strings.Join(kv, ",") + "}"
}

func (s Source) readQuery(ctx context.Context) (Reading, error) {
	body, err := s.get(ctx, s.queryURL+"?query="+url.QueryEscape(s.query))
	if err != nil {
		return Reading{}, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Reading{}, fmt.Errorf("memory source %s: not a Prometheus query answer: %v", s.Spec, err)
	}
	if r.Status != "success" {
		return Reading{}, fmt.Errorf("memory source %s: the query failed: %s", s.Spec, r.Error)
	}
	switch n := len(r.Data.Result); {
	case n == 0:
		return Reading{}, fmt.Errorf("memory source %s: the query %q matches no series", s.Spec, s.query)
	case n > 1:
		return Reading{}, fmt.Errorf("memory source %s: the query %q matches %d series: narrow it to one", s.Spec, s.query, n)
	}
	str, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return Reading{}, fmt.Errorf("memory source %s: value %q is not a number", s.Spec, str)
	}
	rss, err := s.bytes("RSS", v, MaxRSSBytes)
	return Reading{RSSBytes: rss}, err
}

// Bounds on what a source may report. No machine holds a pebibyte of RAM, and no
// process maps more than x86-64's 57-bit (five-level paging) address space: a larger
// figure is a broken exporter or the wrong series, not memory.
const (
	MaxRSSBytes = 1 << 50
	MaxVSZBytes = 1 << 57
)

var bound = map[float64]string{MaxRSSBytes: "2^50 bytes (1 PiB), more RAM than any machine holds", MaxVSZBytes: "2^57 bytes (128 PiB), the largest address space"}

// bytes checks a source's figure before it becomes a byte count: NaN, an infinity, a
// negative or an impossible size would otherwise convert to nonsense (NaN to 2^63).
func (s Source) bytes(what string, v, limit float64) (uint64, error) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("memory source %s gave %s %v, not a size: check the exporter", s.Spec, what, v)
	case v < 0:
		return 0, fmt.Errorf("memory source %s gave a negative %s (%v bytes): check the exporter", s.Spec, what, v)
	case v > limit:
		return 0, fmt.Errorf("memory source %s gave %s %g bytes, above %s: check the exporter and the series picked", s.Spec, what, v, bound[limit])
	}
	return uint64(v), nil
}
