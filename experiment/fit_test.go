package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// fakeCgroups makes cgroup v2 directories under a temporary root, whose files the
// tests write as the kernel would.
type fakeCgroups struct {
	root string
	made []*cgroup.Group
}

func (c *fakeCgroups) RemoveLeftovers() ([]string, error) { return nil, nil }
func (c *fakeCgroups) Version() cgroup.Version            { return cgroup.V2 }
func (c *fakeCgroups) Begin() (cgroupParent, error)       { return c, nil }
func (c *fakeCgroups) Close() error                       { return nil }
func (c *fakeCgroups) NewGroup(name string, limit uint64) (*cgroup.Group, error) {
	g := &cgroup.Group{Version: cgroup.V2, Dir: filepath.Join(c.root, name), LimitBytes: limit}
	if err := os.MkdirAll(g.Dir, 0o755); err != nil {
		return nil, err
	}
	writeCgroup(g.Dir, 4<<20, 4<<20, 0)
	c.made = append(c.made, g)
	return g, nil
}

// writeCgroup sets a fake cgroup's usage, peak and OOM kills.
func writeCgroup(dir string, usage, peak, kills uint64) {
	for name, v := range map[string]string{
		"memory.current": strconv.FormatUint(usage, 10), "memory.peak": strconv.FormatUint(peak, 10),
		"memory.events": fmt.Sprintf("high 0\nmax %d\noom %d\noom_kill %d\n", kills, kills, kills), "memory.stat": "anon 0\nfile 0\n",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644)
	}
}

// needing makes each lane's fake server reach need bytes under load: in a cgroup whose
// limit is below that, the kernel OOM-kills it as the load starts.
func needing(need uint64) func(f *fakeParts) {
	return func(f *fakeParts) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, p := range f.procs {
			if p.cgroup == "" || !alive(p) {
				continue
			}
			limit := limitOf(f.cgroups, p.cgroup)
			if limit > 0 && limit < need {
				writeCgroup(p.cgroup, limit, limit, 1)
				p.end(servers.ExitStatus{Code: -1, Signal: "SIGKILL"})
				continue
			}
			writeCgroup(p.cgroup, need, need, 0)
		}
	}
}

// limitOf is the limit of the cgroup last made at dir (each trial's is named alike).
func limitOf(c *fakeCgroups, dir string) uint64 {
	for k := len(c.made) - 1; k >= 0; k-- {
		if c.made[k].Dir == dir {
			return c.made[k].LimitBytes
		}
	}
	return 0
}

func fitPlan(t *testing.T) Options {
	o := fakePlan(t)
	o.Allocators, o.Fit, o.FitTrials = []string{"system"}, true, 12
	return o
}

func TestFitFindsTheLimitAboveWhichTheServerLives(t *testing.T) {
	const need = 100 << 20
	f := newFakeParts()
	f.cgroups = &fakeCgroups{root: t.TempDir()}
	f.onLoad = needing(need)
	rec, err := runFake(t, context.Background(), fitPlan(t), f)
	if err != nil {
		t.Fatal(err)
	}
	fits := record.Fits(rec)
	if len(fits) != 1 {
		t.Fatalf("%d fit results, want 1", len(fits))
	}
	fr := fits[0]
	if !fr.Found || fr.Hi < need || fr.Lo >= need || !fr.Converged(record.DefaultFitTolerance) {
		t.Fatalf("got %+v; want a converged search with Lo < %d ≤ Hi", fr, need)
	}
	if tr := rec.Targets[0].FitTrials; len(tr) < 2 {
		t.Fatalf("%d trials, want a search", len(tr))
	}
}

func TestAnInterruptedTrialNeitherFitsNorFails(t *testing.T) {
	const need = 100 << 20
	f := newFakeParts()
	f.cgroups = &fakeCgroups{root: t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loads := 0
	f.onLoad = func(f *fakeParts) {
		needing(need)(f)
		// The first trial's load (the second load of the search) is interrupted.
		if loads++; loads == 2 {
			cancel()
		}
	}
	rec, _ := runFake(t, ctx, fitPlan(t), f)
	trials := rec.Targets[0].FitTrials
	if len(trials) != 1 || !trials[0].Interrupted {
		t.Fatalf("trials %+v, want one, interrupted", trials)
	}
	fr := record.Fits(rec)[0]
	if !fr.Interrupted || fr.Found || fr.Lo != 0 && fr.Lo >= need {
		t.Fatalf("got %+v; want an interrupted search that took the trial as neither a fit nor a failure", fr)
	}
	for _, ft := range fr.Trials {
		if !ft.Interrupted || ft.Fits || strings.Contains(ft.Why, "OOM") {
			t.Fatalf("trial %+v: want it interrupted, neither fit nor OOM", ft)
		}
	}
}
