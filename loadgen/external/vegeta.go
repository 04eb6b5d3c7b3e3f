package external

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// vegetaReport is `vegeta report -type=json`: times in nanoseconds.
type vegetaReport struct {
	Latencies *struct {
		Mean int64 `json:"mean"`
		P50  int64 `json:"50th"`
		P90  int64 `json:"90th"`
		P99  int64 `json:"99th"`
		Max  int64 `json:"max"`
	} `json:"latencies"`
	BytesIn struct {
		Total uint64 `json:"total"`
	} `json:"bytes_in"`
	Duration    int64             `json:"duration"`
	Wait        int64             `json:"wait"`
	Requests    uint64            `json:"requests"`
	StatusCodes map[string]uint64 `json:"status_codes"`
}

// ParseVegeta reads vegeta's JSON report, the last JSON object on out (the summary of
// `vegeta attack … | vegeta report -type=json`). ok is false when there is none.
func ParseVegeta(out []byte) (Figures, bool) {
	out = bytes.TrimSpace(out)
	start := bytes.LastIndex(out, []byte(`{"latencies"`))
	if start < 0 {
		return Figures{}, false
	}
	var r vegetaReport
	if err := json.Unmarshal(out[start:], &r); err != nil || r.Latencies == nil {
		return Figures{}, false
	}
	f := Figures{
		Tool: "vegeta", Requests: r.Requests, Duration: time.Duration(r.Duration + r.Wait), Bytes: r.BytesIn.Total,
		Mean: time.Duration(r.Latencies.Mean), Max: time.Duration(r.Latencies.Max), HasPercentiles: true,
		P50: time.Duration(r.Latencies.P50), P90: time.Duration(r.Latencies.P90), P99: time.Duration(r.Latencies.P99),
		Errors: map[string]uint64{}, Status: map[string]uint64{},
	}
	// Answers per second, the built-in generator's measure: vegeta's "throughput" counts
	// successes only, its "rate" what was sent.
	if f.Duration > 0 {
		f.ReqPerSec = float64(r.Requests) / f.Duration.Seconds()
	}
	for code, n := range r.StatusCodes {
		c, err := strconv.Atoi(code)
		switch {
		case err != nil:
			continue
		case c == 0: // vegeta's code for no answer: a connection error or timeout
			f.Errors["connect"] += n
		default:
			f.Status[strconv.Itoa(c/100)+"xx"] += n
			if c < 200 || c >= 400 {
				f.Errors["non2xx"] += n
			}
		}
	}
	return f, true
}
