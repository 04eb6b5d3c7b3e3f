package experiment

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
)

// load drives the group's targets at once, each from its own worker process, through
// the load's steps (one, or a --shape's), as cycle k of the run (0: a run of one load).
func (e *Experiment) load(ctx context.Context, r *running, group []int, k int) {
	var wg sync.WaitGroup
	names := ""
	for _, i := range group {
		names += " " + e.lanes[i].name
	}
	steps := e.opts.loadSteps()
	if e.opts.ExternalLoad != "" {
		e.logf("load: %s for %s on%s", e.opts.ExternalLoad, ShapeDuration(steps), names)
	} else {
		e.logf("load: %d connections for %s on%s", e.opts.Connections, ShapeDuration(steps), names)
	}
	for _, n := range rotated(len(group), r.run) {
		i := group[n]
		start := e.since(time.Now())
		e.EditRun(i, r.run, func(tr *record.TargetRun) {
			if k <= 1 {
				tr.Phases.LoadStart = start
			}
			if k > 0 {
				tr.Cycles = append(tr.Cycles, record.Cycle{Index: k, LoadStart: start})
			}
		})
		// The kernel's high-water mark is reset here, so each cycle's peak is its own.
		e.turnPhase(i, r.run, record.PhaseLoad)
		f, err := e.startStep(ctx, r, i, steps[0])
		if err != nil {
			e.event(e.lanes[i].name, record.EventError, fmt.Sprintf("%s: load did not start: %v", e.lanes[i].name, err))
			e.endLoad(i, r.run)
			e.turnPhase(i, r.run, record.PhaseCooldown)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.follow(ctx, r, f, i, steps[1:])
		}()
	}
	wg.Wait()
}

// startStep starts lane i's load at one step's rate and for its duration, and hands it
// to the heartbeat.
func (e *Experiment) startStep(ctx context.Context, r *running, i int, step record.RateStep) (*follower, error) {
	cfg := loadgen.Config{
		Name: e.lanes[i].name, URL: e.laneURL(i, r.procs), Connections: e.opts.Connections,
		Pipelining: e.opts.Pipelining, Rate: step.Rate, Duration: step.Duration, Engine: e.opts.Engine,
		Method: e.opts.Method, Headers: e.opts.Headers, Body: e.opts.Body, Mix: e.opts.Mix,
		KeepHistogram: e.opts.Cycled() || len(e.opts.Shape) > 0,
	}
	l, err := e.parts.loads.StartLoad(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if e.paused.Load() {
		l.Pause()
	}
	f := &follower{load: l}
	// The load worker's own CPU and memory are sampled with the lanes, on the beat.
	if g, err := e.parts.proc.Open([]probe.Target{{Name: "client", PID: l.PID()}}, false); err != nil {
		e.event(e.lanes[i].name, record.EventWarning, fmt.Sprintf("%s: the load generator's own CPU and memory are not measured: %v", e.lanes[i].name, err))
	} else {
		f.sampling = g
	}
	e.beat.change(func() {
		e.mu.Lock()
		r.loads[i] = f
		e.mu.Unlock()
	})
	return f, nil
}

// endLoad stamps the end of lane i's load now: the run's, and its cycle's.
func (e *Experiment) endLoad(i, run int) time.Duration {
	end := e.since(time.Now())
	e.EditRun(i, run, func(tr *record.TargetRun) {
		tr.Phases.LoadEnd = end
		if c := openCycle(tr); c != nil {
			c.LoadEnd = end
		}
	})
	return end
}

// follower is a load in flight, whose seconds the beat polls.
type follower struct {
	load     loadRun
	sampling sampling
}

// drain appends the seconds the load reported since the last beat to lane i's run.
func (f *follower) drain(e *Experiment, i, run int) {
	for _, s := range f.load.Poll() {
		e.AppendLoad(i, run, record.LoadTick{
			T: e.since(s.Time), Requests: s.Requests, Bytes: s.Bytes, Errors: s.Errors.Total(), Non2xx: s.Errors.Non2xx,
			P50: s.Latency.P50, P99: s.Latency.P99, Connections: s.Connections,
		})
	}
}

// follow waits for each step's end, starts the load's next steps, then records its
// result: over a run of cycles, every load's requests taken together. Its seconds are
// the beat's.
func (e *Experiment) follow(ctx context.Context, r *running, f *follower, i int, rest []record.RateStep) {
	var res loadgen.Result
	for {
		<-f.load.Done()
		got := f.load.Wait()
		// The last seconds go in before the result, and the beat no longer sees this load.
		e.beat.change(func() {
			e.mu.Lock()
			delete(r.loads, i)
			e.mu.Unlock()
			f.drain(e, i, r.run)
		})
		if err := f.load.Err(); err != nil {
			e.endLoad(i, r.run)
			e.EditRun(i, r.run, func(tr *record.TargetRun) { tr.LoadError = err.Error() })
			e.event(e.lanes[i].name, record.EventLoadDied, fmt.Sprintf("%s: %v; its load figures are incomplete and it is left out of the comparisons; the others go on", e.lanes[i].name, err))
			e.turnPhase(i, r.run, record.PhaseCooldown)
			return
		}
		res = loadgen.Merge(res, got)
		if len(rest) == 0 || ctx.Err() != nil {
			break
		}
		next, err := e.startStep(ctx, r, i, rest[0])
		if err != nil {
			e.event(e.lanes[i].name, record.EventError, fmt.Sprintf("%s: the load's next step did not start: %v; its load ends here", e.lanes[i].name, err))
			break
		}
		f, rest = next, rest[1:]
	}
	if c, ok := f.load.(*commandLoad); ok {
		for _, w := range c.warnings() {
			e.event(e.lanes[i].name, record.EventWarning, e.lanes[i].name+": "+w)
		}
		e.endLoad(i, r.run)
		// A load command's figures are its own: over cycles, the last one's stand.
		e.EditRun(i, r.run, func(tr *record.TargetRun) { tr.Result = c.result() })
		e.turnPhase(i, r.run, record.PhaseCooldown)
		e.Notify()
		return
	}
	e.endLoad(i, r.run)
	r.results[i] = loadgen.Merge(r.results[i], res)
	res = r.results[i]
	e.EditRun(i, r.run, func(tr *record.TargetRun) {
		tr.Result = &record.LoadResult{
			Requests: res.Requests, Duration: res.Duration, ReqPerSec: res.ReqPerSecMean(), Bytes: res.Bytes,
			P50: res.Latency.P50, P90: res.Latency.P90, P99: res.Latency.P99, P999: res.Latency.P99_9, Max: res.Latency.Max, Mean: res.Latency.Mean,
			Errors: map[string]uint64{"connect": res.Errors.Connect, "reset": res.Errors.Reset, "timeout": res.Errors.Timeout, "parse": res.Errors.Parse, "non2xx": res.Errors.Non2xx},
			Status: res.Status.Map(), CoordinatedOmissionCorrected: res.CoordinatedOmissionCorrected, Engine: res.Engine,
			// A merge without histograms knows no percentile: unknown, never 0 ms.
			NoPercentiles: res.Requests > 0 && res.Latency.P99 == 0,
		}
	})
	e.turnPhase(i, r.run, record.PhaseCooldown)
	e.Notify()
}

// laneURL is what lane i's load requests: a remote target's URL as given, or the
// request path on the local process's address.
func (e *Experiment) laneURL(i int, procs []process) string {
	if l := e.lanes[i]; l.kind == record.KindRemote {
		return l.url
	}
	return "http://" + procs[i].Addr() + e.opts.RequestPath()
}

// turnPhase records the peak of lane i's open phase, if any, and opens next ("" for none).
func (e *Experiment) turnPhase(i, run int, next record.Phase) {
	m := e.meters[i]
	now := e.since(time.Now())
	if m.phase != "" {
		var sampled uint64
		e.EditRun(i, run, func(tr *record.TargetRun) { sampled = sampledPeak(tr.Samples, m.from, now) })
		phase, peak := m.end(sampled)
		// A phase the process did not live to see has no peak, not a peak of 0.
		if peak.Source != record.PeakSampled || peak.Bytes > 0 {
			e.SetPeak(i, run, phase, peak)
			if phase == record.PhaseLoad || phase == record.PhaseCooldown {
				e.EditRun(i, run, func(tr *record.TargetRun) {
					if c := openCycle(tr); c != nil && (c.Peak == nil || peak.Bytes > c.Peak.Bytes) {
						c.Peak = &peak
					}
				})
			}
		}
	}
	if next != "" {
		m.begin(next, now)
	}
}

// toSample keeps a probe reading in the record's own type, at offset t.
func toSample(t time.Duration, p probe.Process) record.Sample {
	return record.Sample{
		T: t, RSSBytes: p.RSSBytes, VSZBytes: p.VSZBytes, PeakRSSBytes: p.PeakRSSBytes, AnonBytes: p.AnonBytes,
		FileBytes: p.FileBytes, PSSBytes: p.PSSBytes, USSBytes: p.USSBytes, CPUPercent: p.CPUPercent,
		Threads: p.Threads, FDs: p.FDs, MinorFaults: p.MinorFaults, LazyFreeBytes: p.LazyFreeBytes,
	}
}
