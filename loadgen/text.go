package loadgen

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/allocscope/allocscope/units"
)

// WriteText prints a result in autocannon's shape: latency, req/s and bytes/s tables,
// status codes, errors and the closing line.
func WriteText(w io.Writer, r Result) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
	if r.CoordinatedOmissionCorrected {
		fmt.Fprintf(w, "Open loop at %.0f req/s: latency is measured from each request's scheduled send time (corrected for coordinated omission).\n\n", r.Rate)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	l := r.Latency
	fmt.Fprintln(tw, "Stat\t2.5%\t50%\t97.5%\t99%\t99.9%\tAvg\tStdev\tMax\t")
	fmt.Fprintf(tw, "Latency\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", ms(l.P2_5), ms(l.P50), ms(l.P97_5), ms(l.P99), ms(l.P99_9), ms(l.Mean), ms(l.Stdev), ms(l.Max))
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "Stat\t1%\t2.5%\t50%\t97.5%\tAvg\tStdev\tMin\t")
	d := r.ReqPerSec
	fmt.Fprintf(tw, "Req/Sec\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t%.0f\t\n", d.Min, d.P2_5, d.P50, d.P97_5, d.Mean, d.Stdev, d.Min)
	b := r.BytesPerSec
	fmt.Fprintf(tw, "Bytes/Sec\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", SI(b.Min), SI(b.P2_5), SI(b.P50), SI(b.P97_5), SI(b.Mean), SI(b.Stdev), SI(b.Min))
	tw.Flush()
	fmt.Fprintln(w)
	var codes []string
	for k, v := range r.Status.Map() {
		codes = append(codes, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(codes)
	if len(codes) == 0 {
		codes = []string{"none"}
	}
	fmt.Fprintf(w, "Status codes: %s\n", strings.Join(codes, ", "))
	e := r.Errors
	fmt.Fprintf(w, "Errors: %d (connect %d, reset %d, timeout %d, parse %d); non-2xx responses: %d\n", e.Total(), e.Connect, e.Reset, e.Timeout, e.Parse, e.Non2xx)
	fmt.Fprintf(w, "\n%d requests in %.1fs, %s read", r.Requests, r.Duration.Seconds(), SI(float64(r.Bytes))+"B")
	if r.Interrupted {
		fmt.Fprint(w, " (interrupted)")
	}
	fmt.Fprintln(w)
}

// SI formats a count with a k/M/G suffix (units.SI).
func SI(v float64) string { return units.SI(v) }
