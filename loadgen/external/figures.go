package external

import (
	"os"
	"time"
)

// Figures are what a load tool said of its run. A figure the tool did not give is zero
// and its Has flag false: wrk gives percentiles only with --latency.
type Figures struct {
	// Tool is the tool that printed them: "wrk", "vegeta" or "locust".
	Tool      string
	Requests  uint64
	Duration  time.Duration
	ReqPerSec float64
	Bytes     uint64
	Mean, Max time.Duration
	// HasPercentiles: P50, P90 and P99 (and P999 where the tool gives it) are known.
	HasPercentiles      bool
	P50, P90, P99, P999 time.Duration
	Errors              map[string]uint64
	Status              map[string]uint64
}

// Read finds the figures in a finished command's output: Locust's CSV stats at csv
// (when the command wrote them), else vegeta's JSON report or wrk's summary on stdout.
// ok is false when it recognises none of them.
func Read(stdout, csv string) (Figures, bool) {
	if csv != "" {
		if b, err := os.ReadFile(csv + "_stats.csv"); err == nil {
			if f, ok := ParseLocustStats(b); ok {
				return f, true
			}
		}
	}
	if f, ok := ParseVegeta([]byte(stdout)); ok {
		return f, true
	}
	return ParseWrk(stdout)
}
