package verdict

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/allocscope/allocscope/record"
)

// Threshold is one clause of a CI gate: fail when a metric moved past a limit, such as
// "peak_rss>+10%" (grew by more than 10%) or "rps<-5%" (fell by more than 5%).
type Threshold struct {
	Metric record.Metric
	// Above: the clause fails on a rise past Percent; otherwise on a fall past it.
	Above   bool
	Percent float64
	Text    string
}

// Gate is a list of thresholds, from --fail-if.
type Gate []Threshold

// ParseGate reads "peak_rss>+10%,p99>+20%,rps<-5%". Each error is one line.
func ParseGate(expr string) (Gate, error) {
	var g Gate
	for _, clause := range strings.Split(expr, ",") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		i := strings.IndexAny(clause, "<>")
		if i <= 0 {
			return nil, fmt.Errorf("--fail-if %q: want FIGURE>+N%% or FIGURE<-N%%, e.g. peak_rss>+10%%", clause)
		}
		key, op, limit := strings.TrimSpace(clause[:i]), clause[i], strings.TrimSpace(clause[i+1:])
		m, ok := MetricByKey(key)
		if !ok {
			return nil, fmt.Errorf("--fail-if %q: unknown figure %q: use %s", clause, key, strings.Join(MetricKeys(), ", "))
		}
		if !strings.HasSuffix(limit, "%") {
			return nil, fmt.Errorf("--fail-if %q: the limit %q needs a %% sign, e.g. +10%%", clause, limit)
		}
		pct, err := strconv.ParseFloat(strings.TrimSuffix(limit, "%"), 64)
		if err != nil || math.IsNaN(pct) || math.IsInf(pct, 0) {
			return nil, fmt.Errorf("--fail-if %q: %q is not a percentage", clause, limit)
		}
		t := Threshold{Metric: m, Above: op == '>', Percent: pct, Text: clause}
		if t.Above && pct < 0 || !t.Above && pct > 0 {
			return nil, fmt.Errorf("--fail-if %q: a rise is >+N%%, a fall <-N%%", clause)
		}
		if !t.Above && pct <= -100 {
			return nil, fmt.Errorf("--fail-if %q: a figure falls by 100%% at most (to nothing), so this never fails: use a limit above -100%%, e.g. %s<-50%%", clause, key)
		}
		g = append(g, t)
	}
	if len(g) == 0 {
		return nil, fmt.Errorf("--fail-if %q holds no threshold, e.g. peak_rss>+10%%", expr)
	}
	return g, nil
}

// MetricByKey finds a compared metric by its key, a cycled record's among them: a gate is
// parsed before the records it judges are read.
func MetricByKey(key string) (record.Metric, bool) {
	for _, m := range record.AllMetrics {
		if m.Key == key {
			return m, true
		}
	}
	return record.Metric{}, false
}

// MetricKeys lists the compared metrics' keys, a cycled record's last.
func MetricKeys() []string {
	var k []string
	for _, m := range record.AllMetrics {
		k = append(k, m.Key)
	}
	return k
}

// Breach is a threshold that a comparison crossed.
type Breach struct {
	Threshold  Threshold
	Comparison Comparison
	// Index is the comparison's place in the list given to Check.
	Index int
	// SingleRuns: the comparison is of single runs (or too few to test), so it breached
	// on its size alone.
	SingleRuns bool
}

// Check returns the comparisons that cross a threshold: significant ones, or, where there
// were too few runs to test, any whose change is past the limit.
func (g Gate) Check(cs []Comparison) []Breach {
	var out []Breach
	for _, t := range g {
		for i, c := range cs {
			if c.Metric.Key != t.Metric.Key || c.N == 0 {
				continue
			}
			change := 100 * (c.Ratio - 1)
			past := (t.Above && change > t.Percent) || (!t.Above && change < t.Percent)
			if !past {
				continue
			}
			if c.Testable() && !c.Significant {
				continue
			}
			out = append(out, Breach{Threshold: t, Comparison: c, Index: i, SingleRuns: !c.Testable()})
		}
	}
	return out
}

// Keys are the keys of the figures the gate reads.
func (g Gate) Keys() []string {
	var keys []string
	for _, t := range g {
		keys = append(keys, t.Metric.Key)
	}
	return keys
}
