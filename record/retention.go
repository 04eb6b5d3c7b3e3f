package record

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Retention is what a lane kept over the cycles of `run --cycles` or `--soak`: each
// cycle's figures, how its memory grew from cycle to cycle, and a plain verdict.
type Retention struct {
	Cycles []CycleFigures `json:"cycles"`
	// Growth fits the RSS after each idle against time, PeakGrowth each cycle's peak; MiB/h.
	Growth     Trend `json:"growth"`
	PeakGrowth Trend `json:"peak_growth"`
	// LevelledAfter is the cycle from whose idle on the RSS after idle stayed level (see
	// levelledFrom); 0 when it did not.
	LevelledAfter int `json:"levelled_after,omitempty"`
	// Verdict is one of "keeps growing: +12 MiB/h (8–16)", "shrinking: …", "levelled off
	// after cycle 2", "no clear trend: …" or "too few cycles to tell".
	Verdict string `json:"verdict"`
}

// CycleFigures are one cycle's figures for one lane, in bytes.
type CycleFigures struct {
	Index int `json:"index"`
	// Load and Idle are how long the cycle's load and idle ran (0: not reached or not ended).
	Load time.Duration `json:"load_ns,omitempty"`
	Idle time.Duration `json:"idle_ns,omitempty"`
	// PeakRSSBytes is the most RSS over the cycle's load and idle: the kernel's
	// high-water mark where it was reset at the cycle's start (PeakSource), else sampled.
	PeakRSSBytes uint64     `json:"peak_rss_bytes,omitempty"`
	PeakSource   PeakSource `json:"peak_source,omitempty"`
	// RSSAfterIdleBytes is the idle's last RSS sample, taken at AfterIdle; both 0 where the
	// idle had no sample or did not end.
	RSSAfterIdleBytes uint64        `json:"rss_after_idle_bytes,omitempty"`
	AfterIdle         time.Duration `json:"after_idle_ns,omitempty"`
	// LazyFreeAfterIdleBytes is LazyFree at that sample, and HeldAfterIdleBytes RSS less
	// it: what the kernel could not take back at once. Both 0 where smaps_rollup was not read.
	LazyFreeAfterIdleBytes uint64 `json:"lazy_free_after_idle_bytes,omitempty"`
	HeldAfterIdleBytes     uint64 `json:"held_after_idle_bytes,omitempty"`
	// GainedBytes is what the load added: the most RSS sampled under load less the last
	// sample before the load began.
	GainedBytes uint64 `json:"gained_bytes,omitempty"`
	// ReleaseHalf and Release90 say how soon after the load ended RSS had given back half
	// and 90% of GainedBytes.
	ReleaseHalf Release `json:"release_half"`
	Release90   Release `json:"release_90"`
	// WorkingSetPeakBytes is the most cgroup working set sampled in the cycle (--cgroup).
	WorkingSetPeakBytes uint64 `json:"working_set_peak_bytes,omitempty"`
	// RetainedRatio is the allocator's committed bytes over what the program held live,
	// at the idle's last /stats: 1.0 is an allocator that kept nothing spare; 0 unknown.
	RetainedRatio float64 `json:"retained_ratio,omitempty"`
}

// Release is how long after a load's end RSS took to fall by a share of what the load added.
type Release struct {
	After time.Duration `json:"after_ns,omitempty"`
	// Kept means it had not fallen that far by the idle's end.
	Kept bool `json:"kept,omitempty"`
	// Known is false where the load added nothing or no sample tells.
	Known bool `json:"known"`
}

func (r Release) String() string {
	switch {
	case !r.Known:
		return "n/a"
	case r.Kept:
		return "kept"
	case r.After < 10*time.Second:
		return fmt.Sprintf("%.1f s", r.After.Seconds())
	}
	return FormatDuration(r.After)
}

// FormatDuration writes a span in the largest unit that keeps it readable: "45 s",
// "12 min", "3.5 h".
func FormatDuration(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d < 2*time.Hour:
		return fmt.Sprintf("%.0f min", d.Minutes())
	}
	return fmt.Sprintf("%.1f h", d.Hours())
}

// Levelling tolerance: the RSS after idle counts as level while it stays within the
// larger of these of its own value. 1 MiB is a few allocator chunks; 2% covers what an
// allocator's decay and the sampling moment move a resting RSS by.
const (
	LevelToleranceBytes    = 1 << 20
	LevelToleranceFraction = 0.02
)

// RetentionOf computes a run's retention; nil for a run without cycles.
func RetentionOf(run TargetRun) *Retention {
	if len(run.Cycles) == 0 {
		return nil
	}
	r := &Retention{Cycles: make([]CycleFigures, 0, len(run.Cycles))}
	var tIdle, yIdle, tPeak, yPeak []float64
	for _, c := range run.Cycles {
		f := cycleFigures(run, c)
		r.Cycles = append(r.Cycles, f)
		if f.AfterIdle > 0 {
			tIdle, yIdle = append(tIdle, f.AfterIdle.Hours()), append(yIdle, mebibytes(f.RSSAfterIdleBytes))
		}
		if f.PeakRSSBytes > 0 {
			tPeak, yPeak = append(tPeak, c.LoadStart.Hours()), append(yPeak, mebibytes(f.PeakRSSBytes))
		}
	}
	r.Growth, r.PeakGrowth = TheilSen(tIdle, yIdle), TheilSen(tPeak, yPeak)
	from := levelledFrom(tIdle, yIdle)
	tail := 0
	if from >= 0 {
		tail = len(yIdle) - from
		k := 0
		for _, f := range r.Cycles {
			if f.AfterIdle > 0 {
				if k == from {
					r.LevelledAfter = f.Index
					break
				}
				k++
			}
		}
	}
	g := r.Growth
	// A slope whose interval excludes 0 is still no growth to speak of while the line it
	// fits moves less over the cycles seen than the band a level RSS may move within.
	var band, change, span float64
	if len(yIdle) >= 2 {
		band = math.Max(mebibytes(LevelToleranceBytes), LevelToleranceFraction*median(yIdle))
		span = tIdle[len(tIdle)-1] - tIdle[0]
		change = g.Slope * span
	}
	switch {
	case !g.Known():
		r.Verdict = "too few cycles to tell"
	case tail >= 3:
		r.Verdict = fmt.Sprintf("levelled off after cycle %d", r.LevelledAfter)
	case (g.Grows() || g.Shrinks()) && math.Abs(change) <= band:
		r.Verdict = fmt.Sprintf("%s %s over %s, within the %s band", noClearTrend, g.String(),
			FormatDuration(time.Duration(span*float64(time.Hour))), MiBString(uint64(band*(1<<20))))
	case g.Grows():
		r.Verdict = "keeps growing: " + g.String()
	case g.Shrinks():
		r.Verdict = "shrinking: " + g.String()
	case tail == 2:
		r.Verdict = fmt.Sprintf("levelled off after cycle %d", r.LevelledAfter)
	default:
		r.Verdict = noClearTrend + " " + g.String()
	}
	return r
}

const noClearTrend = "no clear trend:"

// KeepsGrowing and Shrinking say what the verdict says: a slope beyond noise and a change
// over the cycles beyond the levelling band.
func (r *Retention) KeepsGrowing() bool { return strings.HasPrefix(r.Verdict, "keeps growing") }
func (r *Retention) Shrinking() bool    { return strings.HasPrefix(r.Verdict, "shrinking") }

// String writes a trend in MiB/h with its interval: "+12 MiB/h (8–16)".
func (t Trend) String() string {
	prec := 1
	if math.Max(math.Abs(t.Low), math.Abs(t.High)) >= 100 {
		prec = 0
	}
	num := func(v float64) string { return fmt.Sprintf("%.*f", prec, v) }
	sep := "–"
	if t.Low < 0 || t.High < 0 {
		sep = " to "
	}
	return fmt.Sprintf("%+.*f MiB/h (%s%s%s)", prec, t.Slope, num(t.Low), sep, num(t.High))
}

// levelledFrom is the first point (an index into y, times t in hours) from which the
// RSS after idle stays level: every later point within the tolerance band of the
// others (LevelToleranceBytes or LevelToleranceFraction of the median, the larger),
// the band holding at least 2 points, and, where it holds 3 or more, its own Theil–Sen
// interval including 0, so a slow steady leak is not taken for a plateau. -1 when none.
func levelledFrom(t, y []float64) int {
	if len(y) < 2 {
		return -1
	}
	tol := math.Max(mebibytes(LevelToleranceBytes), LevelToleranceFraction*median(y))
	for i := 0; i <= len(y)-2; i++ {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range y[i:] {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if hi-lo > tol {
			continue
		}
		if len(y)-i >= 3 {
			if tr := TheilSen(t[i:], y[i:]); tr.Grows() || tr.Shrinks() {
				continue
			}
		}
		return i
	}
	return -1
}

func cycleFigures(run TargetRun, c Cycle) CycleFigures {
	f := CycleFigures{Index: c.Index}
	if c.LoadEnd > 0 {
		f.Load = c.LoadEnd - c.LoadStart
		if c.IdleEnd > 0 {
			f.Idle = c.IdleEnd - c.LoadEnd
		}
	}
	end := c.IdleEnd
	if end == 0 {
		end = math.MaxInt64
	}
	var before *Sample
	var loadPeak uint64
	loadSeen := false
	// Samples are in time order: a cycle reads its own window (a day's record has tens of
	// cycles, each read by several figures), not the whole run each time.
	lo := firstAt(run.Samples, c.LoadStart)
	if lo > 0 {
		before = &run.Samples[lo-1]
	}
	for i := lo; i < len(run.Samples); i++ {
		s := &run.Samples[i]
		switch {
		case s.T < c.LoadStart:
			before = s
		case s.T <= end:
			f.PeakRSSBytes = max(f.PeakRSSBytes, s.RSSBytes)
			f.WorkingSetPeakBytes = max(f.WorkingSetPeakBytes, s.CgroupWorkingSetBytes)
			if c.LoadEnd == 0 || s.T <= c.LoadEnd {
				loadPeak, loadSeen = max(loadPeak, s.RSSBytes), true
			}
		default:
			i = len(run.Samples)
		}
	}
	f.PeakSource = PeakSampled
	if c.Peak != nil && c.Peak.Bytes >= f.PeakRSSBytes {
		f.PeakRSSBytes, f.PeakSource = c.Peak.Bytes, c.Peak.Source
	}
	if f.PeakRSSBytes == 0 {
		f.PeakSource = ""
	}
	if c.LoadEnd == 0 {
		return f
	}
	if c.IdleEnd > 0 {
		if last, ok := lastBefore(run.Samples, c.IdleEnd); ok && last.T >= c.LoadEnd {
			f.RSSAfterIdleBytes, f.AfterIdle = last.RSSBytes, last.T
			if last.PSSBytes > 0 {
				f.LazyFreeAfterIdleBytes = last.LazyFreeBytes
				f.HeldAfterIdleBytes = last.RSSBytes - min(last.LazyFreeBytes, last.RSSBytes)
			}
		}
		f.RetainedRatio = retainedRatio(run.Heap, c.LoadEnd, c.IdleEnd)
	}
	if before != nil && loadSeen && loadPeak > before.RSSBytes {
		f.GainedBytes = loadPeak - before.RSSBytes
		f.ReleaseHalf = release(run.Samples, c, loadPeak-f.GainedBytes/2)
		f.Release90 = release(run.Samples, c, loadPeak-f.GainedBytes*9/10)
	}
	return f
}

// release finds the first sample after the load's end at or below the threshold.
func release(samples []Sample, c Cycle, threshold uint64) Release {
	seen := false
	for _, s := range samples[firstAt(samples, c.LoadEnd):] {
		if c.IdleEnd > 0 && s.T > c.IdleEnd {
			break
		}
		seen = true
		if s.RSSBytes <= threshold {
			return Release{After: s.T - c.LoadEnd, Known: true}
		}
	}
	// Kept only when the idle ran its course with samples in it: a run that ended early
	// cannot tell.
	if seen && c.IdleEnd > 0 {
		return Release{Kept: true, Known: true}
	}
	return Release{}
}

// RetainedLiveFloor is the least the program must hold live for Retained / live to be
// shown: below it the allocator's fixed overhead is the whole ratio.
const RetainedLiveFloor = 1 << 20

// retainedRatio is committed over live at the last /stats of the idle (0: unknown). Live
// is the program's own count of what it holds, else the allocator's allocated bytes.
func retainedRatio(heap []HeapStats, from, to time.Duration) float64 {
	for i := len(heap) - 1; i >= 0; i-- {
		h := heap[i]
		if h.T > to {
			continue
		}
		if h.T < from || h.CommittedBytes == nil {
			return 0
		}
		live := h.LiveBytes
		if live == 0 && h.AllocatedBytes != nil {
			live = *h.AllocatedBytes
		}
		// Over a few hundred KiB live the ratio measures the allocator's fixed arenas,
		// not what it kept spare: 55 over 100 KiB says nothing of retention.
		if live < RetainedLiveFloor {
			return 0
		}
		return float64(*h.CommittedBytes) / float64(live)
	}
	return 0
}

// firstAt is the index of the first sample at or after t (len(samples) when none is).
func firstAt(samples []Sample, t time.Duration) int {
	return sort.Search(len(samples), func(i int) bool { return samples[i].T >= t })
}
