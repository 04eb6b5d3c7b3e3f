package loadgen

import (
	"math"
	"sort"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms record microseconds from 1 µs to 60 s with 3 significant figures.
const (
	histMin     = 1
	histMax     = 60_000_000
	histSigFigs = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, histSigFigs)
}

// Errors counts failures by kind.
type Errors struct {
	Connect uint64 `json:"connect"` // refused or failed connects
	Reset   uint64 `json:"reset"`   // closed or reset with a response in flight
	Timeout uint64 `json:"timeout"` // no response within the timeout
	Parse   uint64 `json:"parse"`   // a response that is not HTTP/1.x
	Non2xx  uint64 `json:"non2xx"`  // a response with a status outside 200-299
}

// Total counts every error but non-2xx answers, which are responses.
func (e Errors) Total() uint64 { return e.Connect + e.Reset + e.Timeout + e.Parse }

func (e *Errors) add(o Errors) {
	e.Connect += o.Connect
	e.Reset += o.Reset
	e.Timeout += o.Timeout
	e.Parse += o.Parse
	e.Non2xx += o.Non2xx
}

// Status counts responses by status class: Status[2] is 2xx. Ten classes, because a
// server may answer any three digits (999 included), and every response is counted.
type Status [10]uint64

// Map returns the classes with responses, as "2xx": n.
func (s Status) Map() map[string]uint64 {
	m := map[string]uint64{}
	for i, n := range s {
		if n > 0 {
			m[string(rune('0'+i))+"xx"] = n
		}
	}
	return m
}

// counters is what a worker counts between two snapshots.
type counters struct {
	requests uint64 // responses received
	sent     uint64
	bytes    uint64
	status   Status
	errors   Errors
}

func (c *counters) add(o counters) {
	c.requests += o.requests
	c.sent += o.sent
	c.bytes += o.bytes
	for i := range c.status {
		c.status[i] += o.status[i]
	}
	c.errors.add(o.errors)
}

// Latency summarises a latency distribution.
type Latency struct {
	P2_5   time.Duration `json:"p2_5"`
	P50    time.Duration `json:"p50"`
	P90    time.Duration `json:"p90"`
	P97_5  time.Duration `json:"p97_5"`
	P99    time.Duration `json:"p99"`
	P99_9  time.Duration `json:"p99_9"`
	Max    time.Duration `json:"max"`
	Mean   time.Duration `json:"mean"`
	Stdev  time.Duration `json:"stdev"`
	Min    time.Duration `json:"min"`
	Events int64         `json:"count"`
}

func summarize(h *hdrhistogram.Histogram) Latency {
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		P2_5: us(h.ValueAtQuantile(2.5)), P50: us(h.ValueAtQuantile(50)), P90: us(h.ValueAtQuantile(90)),
		P97_5: us(h.ValueAtQuantile(97.5)), P99: us(h.ValueAtQuantile(99)), P99_9: us(h.ValueAtQuantile(99.9)),
		Max: us(h.Max()), Min: us(h.Min()), Mean: time.Duration(h.Mean() * float64(time.Microsecond)),
		Stdev: time.Duration(h.StdDev() * float64(time.Microsecond)), Events: h.TotalCount(),
	}
}

// Snapshot is one second of one target's load, as seen by the generator.
type Snapshot struct {
	Target string    `json:"target"`
	Second int       `json:"second"`
	Time   time.Time `json:"time"`
	// Requests and Bytes are responses and bytes read during this second.
	Requests    uint64  `json:"requests"`
	Bytes       uint64  `json:"bytes"`
	Status      Status  `json:"status"`
	Errors      Errors  `json:"errors"`
	Latency     Latency `json:"latency"`
	Connections int     `json:"connections"`
	// Warmup marks seconds that the totals leave out.
	Warmup bool `json:"warmup,omitempty"`
	Paused bool `json:"paused,omitempty"`
}

// Distribution summarises per-second values, as autocannon's req/s table does.
type Distribution struct {
	Mean  float64 `json:"mean"`
	Stdev float64 `json:"stdev"`
	Min   float64 `json:"min"`
	P2_5  float64 `json:"p2_5"`
	P50   float64 `json:"p50"`
	P97_5 float64 `json:"p97_5"`
	Max   float64 `json:"max"`
}

func distribution(values []float64) Distribution {
	if len(values) == 0 {
		return Distribution{}
	}
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	var sum, sq float64
	for _, x := range v {
		sum += x
	}
	mean := sum / float64(len(v))
	for _, x := range v {
		sq += (x - mean) * (x - mean)
	}
	at := func(q float64) float64 { return v[int(math.Round(q*float64(len(v)-1)))] }
	return Distribution{Mean: mean, Stdev: math.Sqrt(sq / float64(len(v))), Min: v[0], P2_5: at(0.025), P50: at(0.5), P97_5: at(0.975), Max: v[len(v)-1]}
}

// Result is the whole test's picture for one target, warmup left out.
type Result struct {
	Target      string        `json:"target"`
	URL         string        `json:"url"`
	Connections int           `json:"connections"`
	Pipelining  int           `json:"pipelining"`
	Rate        float64       `json:"rate,omitempty"`
	Start       time.Time     `json:"start"`
	Duration    time.Duration `json:"duration_ns"`
	Requests    uint64        `json:"requests"`
	Sent        uint64        `json:"sent"`
	Bytes       uint64        `json:"bytes"`
	Status      Status        `json:"status"`
	Errors      Errors        `json:"errors"`
	Latency     Latency       `json:"latency"`
	ReqPerSec   Distribution  `json:"req_per_sec"`
	BytesPerSec Distribution  `json:"bytes_per_sec"`
	// CoordinatedOmissionCorrected is true in open loop (-R): latency counts from each
	// request's scheduled send time, so a stalled server cannot hide its queue.
	CoordinatedOmissionCorrected bool `json:"coordinated_omission_corrected"`
	// Histogram is the latency histogram in µs, for merging runs.
	Histogram *hdrhistogram.Snapshot `json:"histogram,omitempty"`
	// Interrupted is true when the test was cancelled before its end.
	Interrupted bool `json:"interrupted,omitempty"`
	// Engine is the I/O engine that ran the test: io_uring or epoll.
	Engine string `json:"engine,omitempty"`
}

// ReqPerSecMean is the mean rate over the measured time.
func (r Result) ReqPerSecMean() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Duration.Seconds()
}
