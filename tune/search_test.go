package tune

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// fakeRunner makes records without servers: each lane's peak RSS, req/s and p99 are a
// base times the effects of its settings, times noise of up to ±noise, run by run.
type fakeRunner struct {
	// memory, rps and p99 map a setting (VAR=VALUE, or a MALLOC_CONF pair) to its factor.
	memory, rps map[string]float64
	// together multiplies memory where both settings are set: an interaction.
	together map[[2]string]float64
	// ignored settings come back as issues, as /stats shows them.
	ignored map[string]bool
	noise   float64
	rng     *rand.Rand
	calls   [][]servers.Lane
}

func (f *fakeRunner) Cost(lanes, runs int) time.Duration {
	return time.Duration(runs) * 10 * time.Second
}

func (f *fakeRunner) Run(_ context.Context, lanes []servers.Lane, runs int) (*record.Record, error) {
	f.calls = append(f.calls, lanes)
	rec := &record.Record{}
	for _, l := range lanes {
		t := record.Target{Name: l.Name}
		var parts []string
		for _, s := range l.Settings {
			if v, ok := strings.CutPrefix(s, "MALLOC_CONF="); ok {
				for _, p := range strings.Split(v, ",") {
					parts = append(parts, "MALLOC_CONF="+p)
				}
				continue
			}
			parts = append(parts, s)
		}
		mem, rps := 100.0, 1000.0
		for _, p := range parts {
			mem *= or1(f.memory[p])
			rps *= or1(f.rps[p])
			if f.ignored[p] {
				t.SettingIssues = append(t.SettingIssues, p+" is not a setting this allocator reads")
			}
		}
		for pair, factor := range f.together {
			if contains(parts, pair[0]) && contains(parts, pair[1]) {
				mem *= factor
			}
		}
		for range runs {
			n := func() float64 { return 1 + f.noise*(2*f.rng.Float64()-1) }
			t.Runs = append(t.Runs, record.TargetRun{
				Peaks:  map[record.Phase]record.PeakRSS{record.PhaseLoad: {Bytes: uint64(mem * n() * (1 << 20)), Source: record.PeakKernel}},
				Result: &record.LoadResult{Requests: 1000, ReqPerSec: rps * n(), P99: time.Duration(5 * n() * float64(time.Millisecond))},
			})
		}
		rec.Targets = append(rec.Targets, t)
	}
	return rec, nil
}

func or1(v float64) float64 {
	if v == 0 {
		return 1
	}
	return v
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func plan(knobs ...Knob) Plan {
	keep, _ := ParseKeep("rps>=-5%,p99<=+10%")
	return Plan{Allocator: "jemalloc", Knobs: knobs, Minimize: record.MetricPeakRSS, Keep: keep, Budget: time.Hour, ConfirmRuns: 5}
}

var (
	decay   = Knob{Name: "dirty_decay_ms", Var: "MALLOC_CONF", Values: []string{"0", "1000"}}
	narenas = Knob{Name: "narenas", Var: "MALLOC_CONF", Values: []string{"1", "2"}}
	bogus   = Knob{Name: "BOGUS", Var: "MALLOC_BOGUS", Values: []string{"1"}}
)

func TestTheSearchRecommendsWhatBeatsTheDefaultsOutsideNoise(t *testing.T) {
	r := &fakeRunner{
		memory: map[string]float64{"MALLOC_CONF=dirty_decay_ms:1000": 0.9, "MALLOC_CONF=dirty_decay_ms:0": 0.8, "MALLOC_CONF=narenas:1": 0.85},
		// dirty_decay_ms:0 is a madvise storm: half the throughput, so --keep rules it out.
		rps:   map[string]float64{"MALLOC_CONF=dirty_decay_ms:0": 0.5},
		noise: 0.01, rng: rand.New(rand.NewPCG(1, 2)),
	}
	out, err := Search(context.Background(), r, plan(decay, narenas), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.Recommended, "MALLOC_CONF=dirty_decay_ms:1000,narenas:1"; got != want {
		t.Fatalf("recommended %q, want %q (%s)", got, want, out.Why)
	}
	var stages []string
	for _, tr := range out.Trials {
		stages = append(stages, tr.Stage)
	}
	if got, want := strings.Join(stages, ","), "screen,screen,combine,confirm"; got != want {
		t.Errorf("stages %s, want %s", got, want)
	}
	if last := out.Trials[len(out.Trials)-1]; last.Runs != 5 {
		t.Errorf("confirmed over %d runs, want 5", last.Runs)
	}
	if out.Ratio > 0.8 || out.High >= 1 {
		t.Errorf("ratio %.2f (%.2f–%.2f), want about 0.77 with an interval below 1", out.Ratio, out.Low, out.High)
	}
}

func TestSettingsThatInteractAreJudgedTogether(t *testing.T) {
	// Each helps alone; together they cost memory (concord's MALLOC_ARENA_MAX=2 with a
	// pinned mmap threshold): the combination loses to the better one alone.
	r := &fakeRunner{
		memory:   map[string]float64{"MALLOC_CONF=dirty_decay_ms:1000": 0.9, "MALLOC_CONF=narenas:1": 0.85},
		together: map[[2]string]float64{{"MALLOC_CONF=dirty_decay_ms:1000", "MALLOC_CONF=narenas:1"}: 1.4},
		noise:    0.01, rng: rand.New(rand.NewPCG(3, 4)),
	}
	out, err := Search(context.Background(), r, plan(decay, narenas), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.Recommended, "MALLOC_CONF=narenas:1"; got != want {
		t.Errorf("recommended %q, want %q (%s)", got, want, out.Why)
	}
}

func TestNoOpKnobsKeepTheDefaults(t *testing.T) {
	// An A/A search: every knob changes nothing, and the figures move by noise alone.
	// Whatever wins the single-run screening must fail its confirmation.
	for seed := uint64(0); seed < 20; seed++ {
		r := &fakeRunner{noise: 0.05, rng: rand.New(rand.NewPCG(seed, 99))}
		out, err := Search(context.Background(), r, plan(decay, narenas), nil)
		if err != nil {
			t.Fatal(err)
		}
		if out.Recommended != "" {
			t.Fatalf("seed %d: recommended %q for knobs that do nothing (%s)", seed, out.Recommended, out.Why)
		}
		if !strings.Contains(out.Why, "keep the defaults") {
			t.Errorf("seed %d: why %q, want it to say keep the defaults", seed, out.Why)
		}
	}
}

func TestASettingTheAllocatorIgnoredIsNeverRecommended(t *testing.T) {
	r := &fakeRunner{memory: map[string]float64{"MALLOC_BOGUS=1": 0.5}, ignored: map[string]bool{"MALLOC_BOGUS=1": true}, rng: rand.New(rand.NewPCG(5, 6))}
	out, err := Search(context.Background(), r, plan(bogus), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Recommended != "" || len(out.Trials) != 1 {
		t.Errorf("recommended %q after %d trials, want the defaults kept after the screen", out.Recommended, len(out.Trials))
	}
}

func TestTheBudgetBoundsTheSearch(t *testing.T) {
	r := &fakeRunner{rng: rand.New(rand.NewPCG(7, 8))}
	p := plan(decay, narenas, bogus)
	// 10 s a run: the confirmation (5 runs) takes 50 s, each screen 10 s.
	p.Budget = 75 * time.Second
	out, err := Search(context.Background(), r, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out.Skipped, ","); got != "BOGUS" {
		t.Errorf("skipped %q, want the last knob (BOGUS) left out by the budget", got)
	}
	p.Budget = 30 * time.Second
	if _, err := Search(context.Background(), r, p, nil); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("a budget below one knob and the confirmation: got %v", err)
	}
}

func TestParseKeep(t *testing.T) {
	b, err := ParseKeep("rps>=-5%, p99<=+10%")
	if err != nil || len(b) != 2 || !b[0].AtLeast || b[0].Limit != -0.05 || b[1].AtLeast || b[1].Limit != 0.1 {
		t.Fatalf("got %+v, %v", b, err)
	}
	for _, bad := range []string{"rps>=-5", "rss<=+1%", "p99=+10%"} {
		if _, err := ParseKeep(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestCandidatesWriteMallocConfAsOneVariable(t *testing.T) {
	c := Candidate{{Knob: decay, Value: "1000"}, {Knob: Knobs["glibc"][0], Value: "2"}, {Knob: narenas, Value: "1"}}
	if got, want := c.String(), "MALLOC_ARENA_MAX=2 MALLOC_CONF=dirty_decay_ms:1000,narenas:1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestALaneThatCrashedIsNeverRecommended(t *testing.T) {
	r := &crashingRunner{fakeRunner{memory: map[string]float64{"MALLOC_CONF=narenas:1": 0.5}, rng: rand.New(rand.NewPCG(9, 10))}}
	out, err := Search(context.Background(), r, plan(narenas), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Recommended != "" {
		t.Errorf("recommended %q, a lane OOM-killed in its run", out.Recommended)
	}
}

// crashingRunner kills every lane with narenas:1 in its runs, as an OOM kill would.
type crashingRunner struct{ fakeRunner }

func (c *crashingRunner) Run(ctx context.Context, lanes []servers.Lane, runs int) (*record.Record, error) {
	rec, err := c.fakeRunner.Run(ctx, lanes, runs)
	for i, l := range lanes {
		if strings.Contains(strings.Join(l.Settings, " "), "narenas:1") {
			for k := range rec.Targets[i].Runs {
				rec.Targets[i].Runs[k].Exit = &record.Exit{Signal: "SIGKILL"}
			}
		}
	}
	return rec, err
}
