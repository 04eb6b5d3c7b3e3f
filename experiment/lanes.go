package experiment

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/remote"
	"github.com/allocscope/allocscope/servers"
)

// running is one repetition's lanes while they run.
type running struct {
	run   int
	procs []process // nil for a remote lane
	// groups are the lanes' cgroups (nil without cgroups).
	groups []*cgroup.Group
	// exits waits for every process's exit to be recorded.
	exits sync.WaitGroup
	// What the heartbeat measures: the lanes' /proc, whose samples name the lanes as
	// index says, the remote lanes' memory sources, and the loads in flight by lane;
	// changed only between bursts.
	lanes   sampling
	index   map[string]int
	sources []*remoteSource
	loads   map[int]*follower
	// results are each lane's load results so far, all its cycles' and steps' merged;
	// only the lane's own follower writes its entry.
	results []loadgen.Result
}

// loadRuns are the loads in flight; call with e.mu held.
func (r *running) loadRuns() []loadRun {
	var out []loadRun
	for _, f := range r.loads {
		out = append(out, f.load)
	}
	return out
}

// stop stops every started process at once and waits until each exit is recorded.
func (r *running) stop() {
	var wg sync.WaitGroup
	for _, p := range r.procs {
		if p != nil {
			wg.Add(1)
			go func() { defer wg.Done(); p.Stop(servers.DefaultStopGrace) }()
		}
	}
	wg.Wait()
	r.exits.Wait()
}

// removeCgroups keeps each lane cgroup's last reading (its peak outlives the processes)
// and removes the cgroups.
func (e *Experiment) removeCgroups(r *running) {
	stats := readCgroups(r.groups)
	for i, g := range r.groups {
		if g != nil && stats[i] != nil {
			e.EditRun(i, r.run, func(tr *record.TargetRun) { noteCgroup(tr, g, *stats[i]) })
		}
	}
	for _, g := range r.groups {
		if g != nil {
			if err := g.Remove(); err != nil {
				e.event("", record.EventWarning, err.Error())
			}
		}
	}
}

// runOnce is one repetition: start every lane, sample them, run the phases, stop them.
func (e *Experiment) runOnce(ctx context.Context, run int, bins map[string]servers.Binary) error {
	e.SetPhase(record.PhaseStarting)
	r := &running{run: run, procs: make([]process, len(e.lanes)), groups: make([]*cgroup.Group, len(e.lanes)),
		sources: make([]*remoteSource, len(e.lanes)), loads: map[int]*follower{}, index: map[string]int{},
		results: make([]loadgen.Result, len(e.lanes))}
	defer e.removeCgroups(r)
	if err := e.startLanes(ctx, r, bins); err != nil {
		r.stop()
		return err
	}
	if err := e.sample(r); err != nil {
		r.stop()
		return err
	}
	err := e.phases(ctx, r)
	if ctx.Err() != nil {
		for i := range e.lanes {
			e.EditRun(i, run, func(tr *record.TargetRun) { tr.Interrupted = true })
		}
	}
	// An interrupted phase still gets its peak, read before the processes are stopped.
	for i := range r.procs {
		e.turnPhase(i, run, "")
	}
	// Some settings show only under load (glibc makes its arenas as threads contend).
	// All lanes at once: each waits up to 5 s for a busy server's /stats.
	if ctx.Err() == nil {
		var checks sync.WaitGroup
		for i, p := range r.procs {
			if p != nil && alive(p) {
				checks.Add(1)
				go func() { defer checks.Done(); e.checkSettings(ctx, i, p) }()
			}
		}
		checks.Wait()
	}
	e.SetPhase(record.PhaseDone)
	e.beat.detach()
	r.stop()
	return err
}

// startLanes starts every lane's process and records its exit when it comes.
func (e *Experiment) startLanes(ctx context.Context, r *running, bins map[string]servers.Binary) error {
	// Lanes take turns at going first, run by run: the first server started and the first
	// load worker connected would otherwise get a head start in every run, a bias that a
	// paired comparison would call a real difference between identical lanes.
	for _, i := range rotated(len(e.lanes), r.run) {
		l := e.lanes[i]
		if l.kind == record.KindRemote {
			// Nothing to start: the service runs elsewhere.
			e.StartRun(i, record.TargetRun{Addr: l.url, Step: e.step, Phases: record.Phases{Start: e.since(time.Now())}})
			continue
		}
		spec, err := e.spec(l, bins)
		if err != nil {
			return err
		}
		g, err := e.enterCgroup(i, r.run, &spec)
		if err != nil {
			return err
		}
		r.groups[i] = g
		p, err := e.parts.starter.Start(ctx, spec)
		if err != nil {
			return startFailed(g, l.name, err)
		}
		r.procs[i] = p
		if !e.opts.Fit {
			if err := e.checkIdleFits(g, l.name, p.PID()); err != nil {
				return err
			}
		}
		tr := record.TargetRun{PID: p.PID(), Addr: p.Addr(), Step: e.step, Phases: record.Phases{Start: e.since(time.Now())}}
		if g != nil {
			tr.Cgroup = &record.CgroupRun{Path: g.Dir, LimitBytes: g.LimitBytes}
		}
		e.StartRun(i, tr)
		e.EditTarget(i, func(t *record.Target) {
			if spec.Preload != "" {
				t.Preload = spec.Preload
			}
			t.Env = servers.AllocatorEnv(spec)
		})
		e.event(l.name, record.EventStart, fmt.Sprintf("%s: pid %d serving on %s", l.name, p.PID(), p.Addr()))
		r.exits.Add(1)
		go func() {
			defer r.exits.Done()
			e.recordExit(i, r.run, p, g)
		}()
		if err := e.checkSettings(ctx, i, p); err != nil {
			return err
		}
	}
	return nil
}

// recordExit waits for lane i's process to end and records how.
func (e *Experiment) recordExit(i, run int, p process, g *cgroup.Group) {
	<-p.Done()
	ex := p.Exit()
	stats := readCgroups([]*cgroup.Group{g})[0]
	var exit record.Exit
	e.EditRun(i, run, func(tr *record.TargetRun) {
		tr.Exit = &record.Exit{T: e.Recorder.sinceLocked(time.Now()), Code: ex.Code, Signal: ex.Signal, Requested: ex.Requested}
		if stats != nil {
			noteCgroup(tr, g, *stats)
			// The kernel's OOM killer sends SIGKILL; its count in the cgroup says it was it.
			if !ex.Requested && ex.Signal == "SIGKILL" && stats.Events.OOMKill > 0 {
				tr.Exit.OOM = oomKill(g.LimitBytes, tr.Phases, tr.Exit.T)
			}
		}
		exit = *tr.Exit
	})
	switch {
	case exit.OOM != nil:
		e.event(e.lanes[i].name, record.EventOOMKill, fmt.Sprintf("%s %s; the others go on", e.lanes[i].name, exit.OOM))
	case !ex.Requested:
		e.event(e.lanes[i].name, record.EventCrash, fmt.Sprintf("%s %s; the others go on. Last output: %v", e.lanes[i].name, ex, lastLines(p.Output(), 3)))
	}
	e.Notify()
}

// sample hands the run's lanes to the heartbeat, which takes their first reading at
// once, and opens their peak meters.
func (e *Experiment) sample(r *running) error {
	var targets []probe.Target
	pids := make([]int, len(r.procs))
	for i, p := range r.procs {
		r.index[e.lanes[i].name] = i
		if p == nil {
			continue // remote: its memory comes from its source
		}
		pids[i] = p.PID()
		targets = append(targets, probe.Target{Name: e.lanes[i].name, PID: p.PID(), Tree: e.lanes[i].kind == record.KindCommand})
	}
	g, err := e.parts.proc.Open(targets, true)
	if err != nil {
		return err
	}
	r.lanes = g
	for i, l := range e.lanes {
		if l.kind == record.KindRemote {
			if src, err := remote.Parse(l.memory); err == nil { // checked before the run started
				r.sources[i] = &remoteSource{src: src}
			}
		}
	}
	e.meters = make([]*peakMeter, len(r.procs))
	snap := e.Snapshot()
	for i := range r.procs {
		e.meters[i] = newPeakMeter(e.parts.proc, pids[i], e.lanes[i].kind == record.KindCommand)
		e.meters[i].begin(record.PhaseBaseline, snap.Targets[i].Runs[r.run].Phases.Start)
	}
	e.beat.attach(r)
	return nil
}

// rotated is 0..n-1 starting at k mod n.
func rotated(n, k int) []int {
	out := make([]int, n)
	for j := range out {
		out[j] = (j + k) % n
	}
	return out
}

func lastLines(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// phases runs baseline, load and cooldown, concurrently for all targets or one after another.
func (e *Experiment) phases(ctx context.Context, r *running) error {
	e.SetPhase(record.PhaseBaseline)
	e.logf("baseline: %s idle", e.opts.Baseline)
	if !sleep(ctx, e.opts.Baseline) {
		return nil
	}
	groups := [][]int{}
	if e.opts.Sequential {
		for i := range r.procs {
			groups = append(groups, []int{i})
		}
	} else {
		all := make([]int, len(r.procs))
		for i := range all {
			all[i] = i
		}
		groups = append(groups, all)
	}
	for _, group := range groups {
		if !e.cycles(ctx, r, group) {
			return nil
		}
		if e.opts.Purge {
			if !e.purgePhase(ctx, r, group) {
				return nil
			}
			continue
		}
		for _, i := range group {
			e.turnPhase(i, r.run, "")
		}
	}
	return nil
}

// cooldown lets each lane in group idle for d after its own load ended, and stamps
// each one's end then (the end of cycle k's idle, in a run of cycles). Lanes' loads start
// one after another (each load worker is a process that must come up), so with many
// lanes the first ends seconds before the last: one idle after the last would make the
// first's seconds longer than asked. False when ctx ended it.
func (e *Experiment) cooldown(ctx context.Context, run int, group []int, d time.Duration, k int) bool {
	ends := make([]time.Duration, len(group))
	for n, i := range group {
		e.EditRun(i, run, func(tr *record.TargetRun) { ends[n] = tr.Phases.LoadEnd + d })
	}
	order := make([]int, len(group))
	for n := range order {
		order[n] = n
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(ends[a], ends[b]) })
	for n, o := range order {
		if !sleep(ctx, ends[o]-e.since(time.Now())) {
			rest := make([]int, 0, len(order)-n)
			for _, o := range order[n:] {
				rest = append(rest, group[o])
			}
			e.idle(ctx, run, rest, 0, func(p *record.Phases) *time.Duration { return &p.CooldownEnd })
			return false
		}
		i := group[o]
		end := e.since(time.Now())
		if k > 0 {
			// The idle's peak goes into its cycle's before the cycle is closed.
			e.turnPhase(i, run, "")
		}
		e.EditRun(i, run, func(tr *record.TargetRun) {
			tr.Phases.CooldownEnd = end
			if c := openCycle(tr); c != nil {
				c.IdleEnd = end
			}
		})
		if !e.opts.Purge {
			e.turnPhase(i, run, "")
		}
	}
	return true
}

// openCycle is the run's last cycle while its idle has not ended, else nil.
func openCycle(tr *record.TargetRun) *record.Cycle {
	if n := len(tr.Cycles); n > 0 && tr.Cycles[n-1].IdleEnd == 0 {
		return &tr.Cycles[n-1]
	}
	return nil
}

// idle lets the lanes in group sit for d (or until ctx ends) and stamps the moment it
// stopped as the phase end that end points to; false when ctx ended it.
func (e *Experiment) idle(ctx context.Context, run int, group []int, d time.Duration, end func(*record.Phases) *time.Duration) bool {
	ok := sleep(ctx, d)
	now := e.since(time.Now())
	for _, i := range group {
		e.EditRun(i, run, func(tr *record.TargetRun) { *end(&tr.Phases) = now })
	}
	return ok
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
