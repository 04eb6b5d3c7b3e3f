package loadgen

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Merge is the result of two tests against one target taken as one (the cycles of a
// soak, the steps of a shaped load): counts add up, and the latency comes from the merged
// histograms, so its percentiles are those of every request of both. The per-second
// distributions keep only their mean, minimum and maximum, which merge exactly.
func Merge(a, b Result) Result {
	if a.Duration == 0 && a.Requests == 0 && a.Histogram == nil {
		return b
	}
	out := a
	if !b.Start.IsZero() && (out.Start.IsZero() || b.Start.Before(out.Start)) {
		out.Start = b.Start
	}
	out.Duration += b.Duration
	out.Requests += b.Requests
	out.Sent += b.Sent
	out.Bytes += b.Bytes
	for i := range out.Status {
		out.Status[i] += b.Status[i]
	}
	out.Errors.add(b.Errors)
	out.Interrupted = a.Interrupted || b.Interrupted
	out.CoordinatedOmissionCorrected = a.CoordinatedOmissionCorrected && b.CoordinatedOmissionCorrected
	out.ReqPerSec = mergeDistribution(a.ReqPerSec, b.ReqPerSec, a.Duration, b.Duration)
	out.BytesPerSec = mergeDistribution(a.BytesPerSec, b.BytesPerSec, a.Duration, b.Duration)
	if a.Histogram != nil && b.Histogram != nil {
		h := hdrhistogram.Import(a.Histogram)
		h.Merge(hdrhistogram.Import(b.Histogram))
		out.Histogram, out.Latency = h.Export(), summarize(h)
	} else {
		// Without both histograms no percentile of the whole is known: they stay 0,
		// which the views show as unknown, never as 0 ms.
		out.Histogram = nil
		out.Latency = Latency{Max: max(a.Latency.Max, b.Latency.Max)}
	}
	return out
}

func mergeDistribution(a, b Distribution, da, db time.Duration) Distribution {
	total := float64(da + db)
	if total == 0 {
		return Distribution{}
	}
	return Distribution{
		Mean: (a.Mean*float64(da) + b.Mean*float64(db)) / total,
		Min:  min(a.Min, b.Min), Max: max(a.Max, b.Max),
	}
}
