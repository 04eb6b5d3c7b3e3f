package external

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrk's summary, as wrk.c prints it (a -s script's done() may print more around it):
//
//	    Latency   770.34us    1.47ms  20.45ms   88.62%
//	  Latency Distribution
//	     50%  136.00us
//	  30040 requests in 2.01s, 3.29MB read
//	  Socket errors: connect 0, read 5, write 52920, timeout 0
//	  Non-2xx or 3xx responses: 28082
//	Requests/sec:  14975.07
var (
	wrkLatency  = regexp.MustCompile(`(?m)^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+%\s*$`)
	wrkPercent  = regexp.MustCompile(`(?m)^\s+(50|75|90|99)%\s+(\S+)\s*$`)
	wrkRequests = regexp.MustCompile(`(?m)^\s+(\d+) requests in (\S+), (\S+) read`)
	wrkSocket   = regexp.MustCompile(`(?m)^\s+Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`(?m)^\s+Non-2xx or 3xx responses: (\d+)`)
	wrkRate     = regexp.MustCompile(`(?m)^Requests/sec:\s+(\S+)`)
)

// ParseWrk reads wrk's summary (with or without --latency, with or without -s). ok is
// false when there is no "Requests/sec:" line: wrk did not finish its run.
func ParseWrk(out string) (Figures, bool) {
	m := wrkRate.FindStringSubmatch(out)
	if m == nil {
		return Figures{}, false
	}
	f := Figures{Tool: "wrk", Errors: map[string]uint64{}}
	f.ReqPerSec, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkRequests.FindStringSubmatch(out); m != nil {
		f.Requests, _ = strconv.ParseUint(m[1], 10, 64)
		f.Duration = wrkDuration(m[2])
		f.Bytes = wrkBytes(m[3])
	}
	if m := wrkLatency.FindStringSubmatch(out); m != nil {
		f.Mean, f.Max = wrkDuration(m[1]), wrkDuration(m[3])
	}
	ps := wrkPercent.FindAllStringSubmatch(out, -1)
	for _, p := range ps {
		d := wrkDuration(p[2])
		switch p[1] {
		case "50":
			f.P50 = d
		case "90":
			f.P90 = d
		case "99":
			f.P99 = d
		}
	}
	f.HasPercentiles = len(ps) == 4
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for i, k := range []string{"connect", "read", "write", "timeout"} {
			f.Errors[k], _ = strconv.ParseUint(m[i+1], 10, 64)
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		f.Errors["non2xx"], _ = strconv.ParseUint(m[1], 10, 64)
	}
	return f, true
}

// wrkDuration reads wrk's times: "136.00us", "1.47ms", "2.01s", "1.00m", "1.00h".
func wrkDuration(s string) time.Duration {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0
			}
			return time.Duration(n * float64(u.unit))
		}
	}
	return 0
}

// wrkBytes reads wrk's sizes: "3.29MB", "512.00KB", "100B" (powers of 1024).
func wrkBytes(s string) uint64 {
	for i, suffix := range []string{"TB", "GB", "MB", "KB", "B"} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0
			}
			return uint64(n * float64(uint64(1)<<(10*(4-i))))
		}
	}
	return 0
}
