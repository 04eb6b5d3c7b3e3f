package experiment

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// lanesRun is one repetition's running lanes.
type lanesRun struct {
	procs []*servers.Process
	// groups are the lanes' cgroups (nil without cgroups).
	groups []*cgroup.Group
	// exits waits for every process's exit to be recorded.
	exits sync.WaitGroup
}

// stop stops every started process at once and waits until each exit is recorded.
func (lr *lanesRun) stop() {
	var wg sync.WaitGroup
	for _, p := range lr.procs {
		if p != nil {
			wg.Add(1)
			go func() { defer wg.Done(); p.Stop(servers.DefaultStopGrace) }()
		}
	}
	wg.Wait()
	lr.exits.Wait()
}

// removeCgroups keeps each lane cgroup's last reading (its peak outlives the processes)
// and removes the cgroups.
func (e *Experiment) removeCgroups(run int, lr *lanesRun) {
	stats := e.readCgroups(lr.groups)
	e.mu.Lock()
	for i, g := range lr.groups {
		if g != nil && stats[i] != nil && run < len(e.rec.Targets[i].Runs) {
			noteCgroup(&e.rec.Targets[i].Runs[run], g, *stats[i])
		}
	}
	e.groups = nil
	e.mu.Unlock()
	for _, g := range lr.groups {
		if g != nil {
			if err := g.Remove(); err != nil {
				e.event("", "warning", err.Error())
			}
		}
	}
}

// runOnce is one repetition: start every lane, sample them, run the phases, stop them.
func (e *Experiment) runOnce(ctx context.Context, run int, bins map[string]servers.Binary) error {
	e.setPhase(record.PhaseStarting)
	lr := &lanesRun{procs: make([]*servers.Process, len(e.lanes)), groups: make([]*cgroup.Group, len(e.lanes))}
	defer e.removeCgroups(run, lr)
	if err := e.startLanes(ctx, run, bins, lr); err != nil {
		lr.stop()
		return err
	}
	sctx, stopSampling := context.WithCancel(context.Background())
	var consumers sync.WaitGroup
	if err := e.sample(sctx, run, lr.procs, &consumers); err != nil {
		stopSampling()
		lr.stop()
		return err
	}
	e.mu.Lock()
	e.procs, e.procsRun = lr.procs, run
	e.mu.Unlock()
	err := e.phases(ctx, run, lr.procs)
	if ctx.Err() != nil {
		e.mu.Lock()
		for i := range e.rec.Targets {
			if run < len(e.rec.Targets[i].Runs) {
				e.rec.Targets[i].Runs[run].Interrupted = true
			}
		}
		e.mu.Unlock()
	}
	// An interrupted phase still gets its peak, read before the processes are stopped.
	for i := range lr.procs {
		e.turnPhase(i, run, "")
	}
	// Some settings show only under load (glibc makes its arenas as threads contend).
	// All lanes at once: each waits up to 5 s for a busy server's /stats.
	if ctx.Err() == nil {
		var checks sync.WaitGroup
		for i, p := range lr.procs {
			if p == nil {
				continue
			}
			select {
			case <-p.Done():
			default:
				checks.Add(1)
				go func() { defer checks.Done(); e.checkSettings(ctx, i, p) }()
			}
		}
		checks.Wait()
	}
	e.setPhase(record.PhaseDone)
	e.mu.Lock()
	e.procs = nil
	e.mu.Unlock()
	lr.stop()
	stopSampling()
	consumers.Wait()
	return err
}

// startLanes starts every lane's process and records its exit when it comes.
func (e *Experiment) startLanes(ctx context.Context, run int, bins map[string]servers.Binary, lr *lanesRun) error {
	// Lanes take turns at going first, run by run: the first server started and the first
	// load worker connected would otherwise get a head start in every run, a bias that a
	// paired comparison would call a real difference between identical lanes.
	for _, i := range rotated(len(e.lanes), run) {
		l := e.lanes[i]
		if l.kind == record.KindRemote {
			// Nothing to start: the service runs elsewhere.
			e.mu.Lock()
			e.rec.Targets[i].Runs = append(e.rec.Targets[i].Runs, record.TargetRun{Addr: l.url, Step: e.step, Phases: record.Phases{Start: e.since(time.Now())}})
			e.mu.Unlock()
			continue
		}
		spec, err := e.spec(l, bins)
		if err != nil {
			return err
		}
		g, err := e.enterCgroup(i, run, &spec)
		if err != nil {
			return err
		}
		lr.groups[i] = g
		e.mu.Lock()
		e.groups = lr.groups
		e.mu.Unlock()
		p, err := servers.Start(ctx, spec)
		if err != nil {
			return startFailed(g, l.name, err)
		}
		lr.procs[i] = p
		if !e.opts.Fit {
			if err := checkIdleFits(g, l.name, p.PID); err != nil {
				return err
			}
		}
		e.mu.Lock()
		tr := record.TargetRun{PID: p.PID, Addr: p.Addr, Step: e.step, Phases: record.Phases{Start: e.since(time.Now())}}
		if g != nil {
			tr.Cgroup = &record.CgroupRun{Path: g.Dir, LimitBytes: g.LimitBytes}
		}
		e.rec.Targets[i].Runs = append(e.rec.Targets[i].Runs, tr)
		if spec.Preload != "" {
			e.rec.Targets[i].Preload = spec.Preload
		}
		e.rec.Targets[i].Env = servers.AllocatorEnv(spec)
		e.mu.Unlock()
		e.event(l.name, "start", fmt.Sprintf("%s: pid %d serving on %s", l.name, p.PID, p.Addr))
		lr.exits.Add(1)
		go func() {
			defer lr.exits.Done()
			e.recordExit(i, run, p, g)
		}()
		if err := e.checkSettings(ctx, i, p); err != nil {
			return err
		}
	}
	return nil
}

// recordExit waits for lane i's process to end and records how.
func (e *Experiment) recordExit(i, run int, p *servers.Process, g *cgroup.Group) {
	<-p.Done()
	ex := p.Exit()
	stats := e.readCgroups([]*cgroup.Group{g})[0]
	e.mu.Lock()
	tr := &e.rec.Targets[i].Runs[run]
	tr.Exit = &record.Exit{T: e.since(time.Now()), Code: ex.Code, Signal: ex.Signal, Requested: ex.Requested}
	if stats != nil {
		noteCgroup(tr, g, *stats)
		// The kernel's OOM killer sends SIGKILL; its count in the cgroup says it was it.
		if !ex.Requested && ex.Signal == "SIGKILL" && stats.Events.OOMKill > 0 {
			tr.Exit.OOM = oomKill(g.LimitBytes, tr.Phases, tr.Exit.T)
		}
	}
	exit := tr.Exit
	e.mu.Unlock()
	switch {
	case exit.OOM != nil:
		e.event(e.lanes[i].name, "oom-kill", fmt.Sprintf("%s %s; the others go on", e.lanes[i].name, exit.OOM))
	case !ex.Requested:
		e.event(e.lanes[i].name, "crash", fmt.Sprintf("%s %s; the others go on. Last output: %v", e.lanes[i].name, ex, lastLines(p.Output(), 3)))
	}
	e.notify()
}

// sample starts the probe on every lane, their peak meters and the built-in servers'
// /stats polls, until ctx ends; consumers is done when all have stopped.
func (e *Experiment) sample(ctx context.Context, run int, procs []*servers.Process, consumers *sync.WaitGroup) error {
	fs, err := probe.NewFS(probe.DefaultRoot)
	if err != nil {
		return err
	}
	var targets []probe.Target
	pids := make([]int, len(procs))
	for i, p := range procs {
		if p == nil {
			continue // remote: its memory comes from its source
		}
		pids[i] = p.PID
		targets = append(targets, probe.Target{Name: e.lanes[i].name, PID: p.PID, Tree: e.lanes[i].kind == record.KindCommand})
	}
	sampler := &probe.Sampler{FS: fs, Interval: e.opts.Interval, SmapsInterval: max(probe.DefaultSmapsInterval, e.opts.Interval)}
	samples, err := sampler.Run(ctx, targets)
	if err != nil {
		return err
	}
	e.meters = make([]*peakMeter, len(procs))
	for i := range procs {
		e.meters[i] = newPeakMeter(fs, pids[i], e.lanes[i].kind == record.KindCommand)
		e.mu.Lock()
		start := e.rec.Targets[i].Runs[run].Phases.Start
		e.mu.Unlock()
		e.meters[i].begin(record.PhaseBaseline, start)
	}
	consumers.Add(1)
	go func() {
		defer consumers.Done()
		e.consumeSamples(samples, run, true, func(i int) *[]record.Sample { return &e.rec.Targets[i].Runs[run].Samples })
	}()
	for i, l := range e.lanes {
		switch l.kind {
		case record.KindRemote:
			consumers.Add(1)
			go func() { defer consumers.Done(); e.pollRemote(ctx, i, run, l) }()
		case record.KindCommand:
		default:
			consumers.Add(1)
			go func() { defer consumers.Done(); e.pollHeap(ctx, i, run, procs[i].Addr) }()
		}
	}
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
func (e *Experiment) phases(ctx context.Context, run int, procs []*servers.Process) error {
	e.setPhase(record.PhaseBaseline)
	e.logf("baseline: %s idle", e.opts.Baseline)
	if !sleep(ctx, e.opts.Baseline) {
		return nil
	}
	groups := [][]int{}
	if e.opts.Sequential {
		for i := range procs {
			groups = append(groups, []int{i})
		}
	} else {
		all := make([]int, len(procs))
		for i := range all {
			all[i] = i
		}
		groups = append(groups, all)
	}
	for _, group := range groups {
		e.setPhase(record.PhaseLoad)
		e.load(ctx, run, group, procs)
		if ctx.Err() != nil {
			return nil
		}
		e.setPhase(record.PhaseCooldown)
		e.endPause()
		e.logf("cooldown: %s idle", e.opts.Cooldown)
		ok := e.cooldown(ctx, run, group)
		if !ok {
			return nil
		}
		if e.opts.Purge {
			if !e.purgePhase(ctx, run, group, procs) {
				return nil
			}
			continue
		}
		for _, i := range group {
			e.turnPhase(i, run, "")
		}
	}
	return nil
}

// cooldown lets each lane in group idle for the cooldown after its own load ended, and
// stamps each one's end then. Lanes' loads start one after another (each load worker is
// a process that must come up), so with many lanes the first ends seconds before the
// last: one cooldown after the last would make the first's seconds longer than asked.
// False when ctx ended it.
func (e *Experiment) cooldown(ctx context.Context, run int, group []int) bool {
	ends := make([]time.Duration, len(group))
	e.mu.Lock()
	for k, i := range group {
		ends[k] = e.rec.Targets[i].Runs[run].Phases.LoadEnd + e.opts.Cooldown
	}
	e.mu.Unlock()
	order := make([]int, len(group))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(ends[a], ends[b]) })
	for n, k := range order {
		if !sleep(ctx, ends[k]-e.since(time.Now())) {
			rest := make([]int, 0, len(order)-n)
			for _, k := range order[n:] {
				rest = append(rest, group[k])
			}
			e.idle(ctx, run, rest, 0, func(p *record.Phases) *time.Duration { return &p.CooldownEnd })
			return false
		}
		i := group[k]
		e.mu.Lock()
		e.rec.Targets[i].Runs[run].Phases.CooldownEnd = e.since(time.Now())
		e.mu.Unlock()
		if !e.opts.Purge {
			e.turnPhase(i, run, "")
		}
	}
	return true
}

// idle lets the lanes in group sit for d (or until ctx ends) and stamps the moment it
// stopped as the phase end that end points to; false when ctx ended it.
func (e *Experiment) idle(ctx context.Context, run int, group []int, d time.Duration, end func(*record.Phases) *time.Duration) bool {
	ok := sleep(ctx, d)
	e.mu.Lock()
	now := e.since(time.Now())
	for _, i := range group {
		*end(&e.rec.Targets[i].Runs[run].Phases) = now
	}
	e.mu.Unlock()
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
