package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/verdict"
)

// Point is one lane on the trade-off between memory, throughput and p99 latency.
type Point struct {
	// Target indexes the record's targets.
	Target int
	Name   string
	// Memory, RPS and P99 are the lane's figures over its runs (median, min, max).
	Memory, RPS, P99 record.Figure
	// OnFront: no other lane is better on one figure without being worse on another.
	OnFront bool
	// DominatedBy names a lane that beats this one (where it is not on the front).
	DominatedBy string
}

// Front is the Pareto front of a record's lanes: memory (peak RSS, or the cgroup peak
// where the run recorded one) against throughput and p99.
type Front struct {
	// Memory is the memory figure the front is drawn on.
	Memory record.Metric
	// Points are the lanes that finished with all three figures, those on the front
	// first, each group by memory.
	Points []Point
	// Tested: every lane has runs enough (verdict.MinRuns) that a difference is called
	// only when the paired test backs it; with fewer, medians decide.
	Tested bool
}

// frontMetrics are the figures a lane must beat another on.
func frontMetrics(memory record.Metric) []record.Metric {
	return []record.Metric{memory, record.MetricReqPerSec, record.MetricP99}
}

// ParetoFront finds the front of a record without a sweep, of two lanes or more that
// finished; ok is false otherwise.
func ParetoFront(r *record.Record) (f Front, ok bool) {
	if r.Plan.Sweep != nil {
		return f, false
	}
	sums := record.Summarize(r)
	f.Memory = record.MetricPeakRSS
	var lanes []int
	cgroup := true
	runs := -1
	for i, t := range r.Targets {
		s := sums[i]
		if crashed(t) || !s.PeakRSS.Known() || !s.ReqPerSec.Known() || !s.P99.Known() {
			continue
		}
		lanes = append(lanes, i)
		cgroup = cgroup && s.CgroupPeak.Known()
		if runs < 0 || len(t.Runs) < runs {
			runs = len(t.Runs)
		}
	}
	if len(lanes) < 2 {
		return f, false
	}
	if cgroup {
		f.Memory = record.MetricCgroupPeak
	}
	f.Tested = runs >= verdict.MinRuns
	for _, i := range lanes {
		p := Point{Target: i, Name: r.Targets[i].Name, RPS: sums[i].ReqPerSec, P99: sums[i].P99, Memory: sums[i].PeakRSS, OnFront: true}
		if cgroup {
			p.Memory = sums[i].CgroupPeak
		}
		f.Points = append(f.Points, p)
	}
	for a := range f.Points {
		for b := range f.Points {
			if a != b && f.dominates(r, f.Points[b], f.Points[a]) {
				f.Points[a].OnFront, f.Points[a].DominatedBy = false, f.Points[b].Name
				break
			}
		}
	}
	sort.SliceStable(f.Points, func(a, b int) bool {
		pa, pb := f.Points[a], f.Points[b]
		if pa.OnFront != pb.OnFront {
			return pa.OnFront
		}
		return pa.Memory.Median < pb.Memory.Median
	})
	return f, true
}

// dominates says whether a is no worse than b on every figure and better on one.
func (f Front) dominates(r *record.Record, a, b Point) bool {
	better := false
	for _, m := range frontMetrics(f.Memory) {
		if f.better(r, m, b, a) {
			return false
		}
		better = better || f.better(r, m, a, b)
	}
	return better
}

// better says whether a beats b on m beyond noise: with runs enough, the paired test's
// call (a family of one); with fewer, medians at least verdict.MinEffect apart.
func (f Front) better(r *record.Record, m record.Metric, a, b Point) bool {
	if f.Tested {
		cs := verdict.CompareAll(r, []record.Metric{m}, []int{b.Target, a.Target})
		if len(cs) == 0 || !cs[0].Significant {
			return false
		}
		return (cs[0].Ratio < 1) == m.LowerIsBetter
	}
	fa, fb := figureOf(m, a), figureOf(m, b)
	if fb == 0 {
		return false
	}
	ratio := fa / fb
	if m.LowerIsBetter {
		return ratio <= 1-verdict.MinEffect
	}
	return ratio >= 1+verdict.MinEffect
}

func figureOf(m record.Metric, p Point) float64 {
	switch m.Key {
	case record.MetricReqPerSec.Key:
		return p.RPS.Median
	case record.MetricP99.Key:
		return p.P99.Median
	}
	return p.Memory.Median
}

// FrontOrder is the record's targets in the front's order: the lanes on the front, then
// the dominated ones, then those left out of it; nil where there is no front.
func FrontOrder(r *record.Record) (order []int, dominated map[int]bool) {
	f, ok := ParetoFront(r)
	if !ok {
		return nil, nil
	}
	in, dominated := map[int]bool{}, map[int]bool{}
	for _, p := range f.Points {
		order = append(order, p.Target)
		in[p.Target] = true
		dominated[p.Target] = !p.OnFront
	}
	for i := range r.Targets {
		if !in[i] {
			order = append(order, i)
		}
	}
	return order, dominated
}

// writeFront is the Markdown's trade-off: the lanes on the front first, then the
// dominated ones, struck through, each with a lane that beats it.
func writeFront(b *strings.Builder, r *record.Record) {
	f, ok := ParetoFront(r)
	if !ok {
		return
	}
	b.WriteString("\n### Trade-off\n\n")
	b.WriteString("| Lane | " + f.Memory.Label + " | Req/s | p99 | |\n|---|---:|---:|---:|---|\n")
	for _, p := range f.Points {
		name, note := mdCell(p.Name), "on the front"
		if !p.OnFront {
			name, note = "~~"+name+"~~", "dominated by "+mdCell(p.DominatedBy)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", name, Figure(p.Memory, MiB), Figure(p.RPS, Rate), Figure(p.P99, Millis), note)
	}
	how := "with a single run of each lane there is no test of noise, so one lane counts as better than another where their figures are at least 1% apart; run with --runs 3 or more for differences the paired test backs"
	if f.Tested {
		how = "a lane beats another only where the paired test over the runs calls the difference (as in the conclusions): differences within noise are not called"
	}
	fmt.Fprintf(b, "\nA lane is on the front when no other lane is as good on %s, req/s and p99 and better on one of them; %s. `allocscope report RUN.json --chart pareto -o front.svg` draws it.\n", f.Memory.Label, how)
}
