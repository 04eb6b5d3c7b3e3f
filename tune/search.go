package tune

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
	"github.com/allocscope/allocscope/verdict"
)

// Runner runs lanes side by side, runs times, into one record whose targets are the
// lanes in the order given. The search needs nothing else, so a test can fake it.
type Runner interface {
	Run(ctx context.Context, lanes []servers.Lane, runs int) (*record.Record, error)
	// Cost is about how long Run takes for that many lanes and runs.
	Cost(lanes, runs int) time.Duration
}

// Objectives are what --minimize takes.
var Objectives = map[string]record.Metric{
	"peak_rss":       record.MetricPeakRSS,
	"rss_after_idle": record.MetricRSSAfterCooldown,
	"working_set":    record.MetricCgroupPeak,
}

// ObjectiveNames lists the objectives in a stable order.
func ObjectiveNames() []string {
	var out []string
	for k := range Objectives {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// MinConfirmRuns is the fewest runs a winner is confirmed with: the paired test's minimum.
const MinConfirmRuns = verdict.MinRuns

// Plan is a search as the user asked for it.
type Plan struct {
	// Allocator is the lanes' allocator (system, jemalloc, …); Knobs are its knobs to try.
	Allocator string
	Knobs     []Knob
	Minimize  record.Metric
	// Keep bounds the other figures against the defaults.
	Keep []Bound
	// Budget bounds the search's estimated time, the confirmation included.
	Budget time.Duration
	// ConfirmRuns repeat the winner beside the defaults, at least MinConfirmRuns.
	ConfirmRuns int
	// Base is the settings every lane runs with (a lane word's own, or --cpus), "" none.
	Base []string
}

// Bound is one --keep: a figure's ratio to the defaults' kept at or above (>=) or at or
// below (<=) 1+Limit.
type Bound struct {
	Metric  record.Metric
	AtLeast bool
	Limit   float64
}

func (b Bound) String() string {
	op := "<="
	if b.AtLeast {
		op = ">="
	}
	return fmt.Sprintf("%s%s%+g%%", b.Metric.Key, op, b.Limit*100)
}

// holds says whether a ratio to the defaults keeps the bound.
func (b Bound) holds(ratio float64) bool {
	if b.AtLeast {
		return ratio >= 1+b.Limit
	}
	return ratio <= 1+b.Limit
}

// ParseKeep reads --keep 'rps>=-5%,p99<=+10%'.
func ParseKeep(s string) ([]Bound, error) {
	var out []Bound
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		op := ">="
		key, val, ok := strings.Cut(part, op)
		if !ok {
			op = "<="
			key, val, ok = strings.Cut(part, op)
		}
		m, known := map[string]record.Metric{"rps": record.MetricReqPerSec, "p99": record.MetricP99}[strings.TrimSpace(key)]
		pct, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(val), "%"), 64)
		if !ok || !known || err != nil || !strings.HasSuffix(strings.TrimSpace(val), "%") {
			return nil, fmt.Errorf("--keep %q: write bounds against the defaults like 'rps>=-5%%,p99<=+10%%' (rps and p99)", part)
		}
		out = append(out, Bound{Metric: m, AtLeast: op == ">=", Limit: pct / 100})
	}
	return out, nil
}

// Result is one candidate's figures in a trial, as ratios to the defaults beside it.
type Result struct {
	Candidate string `json:"candidate"`
	// Objective, RPS and P99 are the candidate's figures over the defaults' (medians).
	Objective float64 `json:"objective_ratio"`
	RPS       float64 `json:"rps_ratio"`
	P99       float64 `json:"p99_ratio"`
	// Issues are settings the allocator ignored or rejected: never recommended.
	Issues []string `json:"issues,omitempty"`
	// Helped: the objective fell by verdict.MinEffect or more; Kept: every bound held.
	Helped bool `json:"helped"`
	Kept   bool `json:"kept"`
	// OnFront: no other candidate (nor the defaults) is as good on all three and better on one.
	OnFront bool `json:"on_front,omitempty"`
	cand    Candidate
	// comparison is the objective's paired test, where the trial had runs enough.
	comparison *verdict.Comparison
}

// usable says whether the result may be carried on: it helped, kept and was taken.
func (r Result) usable() bool { return r.Helped && r.Kept && len(r.Issues) == 0 }

// Trial is one run of the search: the defaults and the candidates side by side.
type Trial struct {
	// Stage is screen (one knob's values), combine (knobs that helped, together) or
	// confirm (the winner, repeated).
	Stage   string   `json:"stage"`
	Knob    string   `json:"knob,omitempty"`
	Runs    int      `json:"runs"`
	Results []Result `json:"results"`
	// Record is where the trial's run record was saved ("" when the runner keeps none).
	Record string `json:"record,omitempty"`
}

// Outcome is what the search found.
type Outcome struct {
	// Command is the tune command line the search ran from ("" when not from the CLI).
	Command   string   `json:"command,omitempty"`
	Allocator string   `json:"allocator"`
	Objective string   `json:"objective"`
	Keep      []string `json:"keep,omitempty"`
	Budget    string   `json:"budget,omitempty"`
	Trials    []Trial  `json:"trials"`
	// Recommended is the setting to paste ("" to keep the defaults), with its objective's
	// ratio to the defaults and that ratio's interval over the confirming runs.
	Recommended string  `json:"recommended"`
	Ratio       float64 `json:"ratio,omitempty"`
	Low         float64 `json:"low,omitempty"`
	High        float64 `json:"high,omitempty"`
	// Why says why the defaults are kept, or what backs the recommendation.
	Why string `json:"why"`
	// Front is the candidates on the front over every trial, by objective.
	Front []Result `json:"front"`
	// Skipped names the knobs the budget left unscreened.
	Skipped []string `json:"skipped,omitempty"`
}

// Recorder keeps each trial's record (the CLI saves it to a file and returns the path).
type Recorder func(stage string, n int, rec *record.Record) string

// Search screens each knob alone, combines the ones that helped, and confirms the best
// with repeated runs against the defaults, within the budget.
func Search(ctx context.Context, r Runner, p Plan, keep Recorder) (Outcome, error) {
	if p.ConfirmRuns < MinConfirmRuns {
		p.ConfirmRuns = MinConfirmRuns
	}
	out := Outcome{Allocator: p.Allocator, Objective: p.Minimize.Key, Budget: p.Budget.String()}
	for _, b := range p.Keep {
		out.Keep = append(out.Keep, b.String())
	}
	confirm := r.Cost(2, p.ConfirmRuns)
	if len(p.Knobs) == 0 {
		return out, fmt.Errorf("no knob to try for %s", p.Allocator)
	}
	if first := r.Cost(1+len(p.Knobs[0].Values), 1); first+confirm > p.Budget {
		return out, fmt.Errorf("--budget %s is too short: one knob and the confirmation take about %s; give --budget %s or more", p.Budget, first+confirm, (first+confirm).Round(time.Minute)+time.Minute)
	}
	spent := time.Duration(0)
	trial := func(stage, knob string, cands []Candidate, runs int) (Trial, error) {
		lanes := []servers.Lane{p.lane("defaults", nil)}
		for _, c := range cands {
			lanes = append(lanes, p.lane(c.String(), c))
		}
		spent += r.Cost(len(lanes), runs)
		rec, err := r.Run(ctx, lanes, runs)
		if err != nil {
			return Trial{}, fmt.Errorf("%s trial of %s: %w", stage, orDefaults(knob), err)
		}
		t := Trial{Stage: stage, Knob: knob, Runs: runs, Results: p.evaluate(rec, cands)}
		if keep != nil {
			t.Record = keep(stage, len(out.Trials)+1, rec)
		}
		out.Trials = append(out.Trials, t)
		return t, nil
	}
	// Screen: each knob alone, its values side by side with the defaults.
	var helped []Result
	for i, k := range p.Knobs {
		var cands []Candidate
		for _, v := range k.Values {
			cands = append(cands, Candidate{{Knob: k, Value: v}})
		}
		if spent+r.Cost(1+len(cands), 1)+confirm > p.Budget {
			for _, k := range p.Knobs[i:] {
				out.Skipped = append(out.Skipped, k.Name)
			}
			break
		}
		t, err := trial("screen", k.Name, cands, 1)
		if err != nil {
			return out, err
		}
		if best, ok := bestOf(t.Results); ok {
			helped = append(helped, best)
		}
	}
	pool := append([]Result(nil), helped...)
	// Combine: settings interact (a pinned mmap threshold turns a smaller arena count
	// into a loss), so the knobs that helped alone are tried together, and each without one.
	if len(helped) >= 2 {
		var all Candidate
		for _, h := range helped {
			all = append(all, h.cand...)
		}
		cands := []Candidate{all}
		for i := range helped {
			if len(helped) > 2 {
				cands = append(cands, without(helped, i))
			}
		}
		if spent+r.Cost(1+len(cands), 1)+confirm <= p.Budget {
			t, err := trial("combine", "", cands, 1)
			if err != nil {
				return out, err
			}
			pool = append(pool, t.Results...)
		}
	}
	out.Front = front(out.Trials)
	winner, ok := bestOf(pool)
	if !ok {
		out.Why = fmt.Sprintf("no setting lowered %s by %.0f%% or more while keeping %s, in %d trial(s): keep the defaults", p.Minimize.Label, verdict.MinEffect*100, keepText(p.Keep), len(out.Trials))
		return out, nil
	}
	// Confirm: the winner beside the defaults, repeated; a win inside noise is none.
	t, err := trial("confirm", "", []Candidate{winner.cand}, p.ConfirmRuns)
	if err != nil {
		return out, err
	}
	out.Why, out.Ratio, out.Low, out.High = p.confirmed(t, r, winner)
	if out.Why == "" {
		out.Recommended = winner.Candidate
		out.Why = fmt.Sprintf("%s %s the defaults' (%.2f×, %.0f%% interval %.2f–%.2f over %d paired runs), keeping %s", p.Minimize.Label, "fell to", out.Ratio, verdict.Level*100, out.Low, out.High, t.Runs, keepText(p.Keep))
	}
	return out, nil
}

// confirmed is "" when the confirming trial backs the winner, else why not; and the
// objective's ratio with its interval.
func (p Plan) confirmed(t Trial, r Runner, winner Result) (why string, ratio, low, high float64) {
	res := t.Results[0]
	c := res.comparison
	if c == nil {
		return fmt.Sprintf("%s could not be compared over the confirming runs: keep the defaults", winner.Candidate), 0, 0, 0
	}
	ratio, low, high = c.Ratio, c.Low, c.High
	switch {
	case len(res.Issues) > 0:
		return fmt.Sprintf("the allocator did not take %s (%s): keep the defaults", winner.Candidate, strings.Join(res.Issues, "; ")), ratio, low, high
	case !c.Significant || c.Ratio >= 1:
		why := c.Why()
		if why == "" {
			why = fmt.Sprintf("its interval %.2f–%.2f includes no change", c.Low, c.High)
		}
		return fmt.Sprintf("%s won the screening, but over %d paired runs its %s (%.2f× the defaults') is within noise (%s): keep the defaults", winner.Candidate, c.N, p.Minimize.Label, c.Ratio, why), ratio, low, high
	case !res.Kept:
		return fmt.Sprintf("%s lowered %s, but over %d runs it broke %s (req/s %.2f×, p99 %.2f×): keep the defaults", winner.Candidate, p.Minimize.Label, c.N, keepText(p.Keep), res.RPS, res.P99), ratio, low, high
	}
	return "", ratio, low, high
}

func keepText(keep []Bound) string {
	if len(keep) == 0 {
		return "no bound on req/s or p99"
	}
	var s []string
	for _, b := range keep {
		s = append(s, b.String())
	}
	return strings.Join(s, ", ")
}

func orDefaults(s string) string {
	if s == "" {
		return "the candidates"
	}
	return s
}

// without is the candidates that helped, all but the i-th, together.
func without(helped []Result, i int) Candidate {
	var c Candidate
	for j, h := range helped {
		if j != i {
			c = append(c, h.cand...)
		}
	}
	return c
}

// bestOf is the usable result with the lowest objective.
func bestOf(rs []Result) (Result, bool) {
	var best Result
	found := false
	for _, r := range rs {
		if r.usable() && (!found || r.Objective < best.Objective) {
			best, found = r, true
		}
	}
	return best, found
}

// lane is one lane of a trial: the allocator with the base settings and the candidate's.
func (p Plan) lane(name string, c Candidate) servers.Lane {
	l := servers.Lane{Name: name, Allocator: p.Allocator, Named: true, Settings: append(append([]string(nil), p.Base...), c.Env()...)}
	return l
}

// evaluate reads each candidate (lane 1…) against the defaults (lane 0).
func (p Plan) evaluate(rec *record.Record, cands []Candidate) []Result {
	var out []Result
	tested := minRuns(rec) >= verdict.MinRuns
	var cs []verdict.Comparison
	if tested {
		lanes := []int{0}
		for i := range cands {
			lanes = append(lanes, i+1)
		}
		// The call is on the objective alone; the bounds are held on the ratios.
		cs = verdict.CompareAll(rec, []record.Metric{p.Minimize}, lanes)
	}
	for i, c := range cands {
		t := rec.Targets[i+1]
		r := Result{Candidate: c.String(), cand: c, Issues: t.SettingIssues,
			Objective: ratio(rec, p.Minimize, i+1), RPS: ratio(rec, record.MetricReqPerSec, i+1), P99: ratio(rec, record.MetricP99, i+1)}
		// A lane that crashed or was OOM-killed under --memory-limit measured less than
		// the load: its low memory is no gain.
		for _, run := range t.Runs {
			if run.Exit.Crashed() || run.LoadError != "" {
				r.Issues = append(r.Issues, "the lane did not finish its run (crashed, or OOM-killed under the limit)")
				break
			}
		}
		for k := range cs {
			if cs[k].Other == i+1 && cs[k].Metric.Key == p.Minimize.Key {
				r.comparison = &cs[k]
			}
		}
		r.Helped = r.Objective <= 1-verdict.MinEffect
		r.Kept = true
		for _, b := range p.Keep {
			v := map[string]float64{record.MetricReqPerSec.Key: r.RPS, record.MetricP99.Key: r.P99}[b.Metric.Key]
			r.Kept = r.Kept && !math.IsNaN(v) && b.holds(v)
		}
		out = append(out, r)
	}
	return out
}

// ratio is lane i's median of m over the defaults' (lane 0); NaN when either lacks it.
func ratio(rec *record.Record, m record.Metric, i int) float64 {
	base := m.Median(rec.Targets[0])
	if base == 0 {
		return math.NaN()
	}
	return m.Median(rec.Targets[i]) / base
}

func minRuns(rec *record.Record) int {
	n := -1
	for _, t := range rec.Targets {
		if n < 0 || len(t.Runs) < n {
			n = len(t.Runs)
		}
	}
	return max(n, 0)
}

// front marks and returns the screened and combined candidates no other beats (the
// defaults, at 1, 1, 1, among the others), by objective.
func front(trials []Trial) []Result {
	var all []Result
	for _, t := range trials {
		if t.Stage != "confirm" {
			for _, r := range t.Results {
				if len(r.Issues) == 0 && !math.IsNaN(r.Objective+r.RPS+r.P99) {
					all = append(all, r)
				}
			}
		}
	}
	beats := func(a, b Result) bool {
		if a.Objective > b.Objective || a.RPS < b.RPS || a.P99 > b.P99 {
			return false
		}
		return a.Objective < b.Objective || a.RPS > b.RPS || a.P99 < b.P99
	}
	defaults := Result{Objective: 1, RPS: 1, P99: 1}
	var out []Result
	for i, r := range all {
		dominated := beats(defaults, r)
		for j, o := range all {
			if i != j && beats(o, r) {
				dominated = true
			}
		}
		if !dominated {
			r.OnFront = true
			out = append(out, r)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Objective < out[b].Objective })
	return out
}
