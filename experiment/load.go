package experiment

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// load drives the group's targets at once, each from its own worker process.
func (e *Experiment) load(ctx context.Context, run int, group []int, procs []*servers.Process) {
	var wg sync.WaitGroup
	names := ""
	for _, i := range group {
		names += " " + e.lanes[i].name
	}
	e.logf("load: %d connections for %s on%s", e.opts.Connections, e.opts.Duration, names)
	for _, k := range rotated(len(group), run) {
		i := group[k]
		cfg := loadgen.Config{
			Name: e.lanes[i].name, URL: e.laneURL(i, procs), Connections: e.opts.Connections,
			Pipelining: e.opts.Pipelining, Rate: e.opts.Rate, Duration: e.opts.Duration, Engine: e.opts.Engine,
			Method: e.opts.Method, Headers: e.opts.Headers, Body: e.opts.Body, Mix: e.opts.Mix,
		}
		e.mu.Lock()
		e.rec.Targets[i].Runs[run].Phases.LoadStart = e.since(time.Now())
		e.mu.Unlock()
		e.turnPhase(i, run, record.PhaseLoad)
		remote, err := loadgen.StartRemote(ctx, append(append([]string(nil), e.opts.Self...), "__loadworker"), cfg)
		if err != nil {
			e.event(e.lanes[i].name, "error", fmt.Sprintf("%s: load did not start: %v", e.lanes[i].name, err))
			e.mu.Lock()
			e.rec.Targets[i].Runs[run].Phases.LoadEnd = e.since(time.Now())
			e.mu.Unlock()
			e.turnPhase(i, run, record.PhaseCooldown)
			continue
		}
		if e.paused.Load() {
			remote.Pause()
		}
		e.mu.Lock()
		e.loads = append(e.loads, remote)
		e.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.follow(remote, i, run)
		}()
	}
	wg.Wait()
	e.mu.Lock()
	e.loads = nil
	e.mu.Unlock()
}

// follow records a load worker's snapshots, result and its own memory and CPU.
func (e *Experiment) follow(remote *loadgen.Remote, i, run int) {
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	var clientDone sync.WaitGroup
	fs, err := probe.NewFS(probe.DefaultRoot)
	var samples <-chan probe.Sample
	if err == nil {
		sampler := &probe.Sampler{FS: fs, Interval: e.opts.Interval}
		samples, err = sampler.Run(sctx, []probe.Target{{Name: "client", PID: remote.PID()}})
	}
	if err != nil {
		e.event(e.lanes[i].name, "warning", fmt.Sprintf("%s: the load generator's own CPU and memory are not measured: %v", e.lanes[i].name, err))
	} else {
		clientDone.Add(1)
		go func() {
			defer clientDone.Done()
			e.consumeSamples(samples, run, false, func(int) *[]record.Sample { return &e.rec.Targets[i].Runs[run].Client })
		}()
	}
	for s := range remote.Snapshots() {
		e.mu.Lock()
		tr := &e.rec.Targets[i].Runs[run]
		tr.Load = append(tr.Load, record.LoadTick{
			T: e.since(s.Time), Requests: s.Requests, Bytes: s.Bytes, Errors: s.Errors.Total(), Non2xx: s.Errors.Non2xx,
			P50: s.Latency.P50, P99: s.Latency.P99, Connections: s.Connections,
		})
		e.mu.Unlock()
		e.notify()
	}
	res := remote.Wait()
	stop()
	clientDone.Wait()
	if err := remote.Err(); err != nil {
		e.mu.Lock()
		tr := &e.rec.Targets[i].Runs[run]
		tr.Phases.LoadEnd = e.since(time.Now())
		tr.LoadError = err.Error()
		e.mu.Unlock()
		e.event(e.lanes[i].name, "load-died", fmt.Sprintf("%s: %v; its load figures are incomplete and it is left out of the comparisons; the others go on", e.lanes[i].name, err))
		e.turnPhase(i, run, record.PhaseCooldown)
		return
	}
	e.mu.Lock()
	tr := &e.rec.Targets[i].Runs[run]
	tr.Phases.LoadEnd = e.since(time.Now())
	tr.Result = &record.LoadResult{
		Requests: res.Requests, Duration: res.Duration, ReqPerSec: res.ReqPerSecMean(), Bytes: res.Bytes,
		P50: res.Latency.P50, P90: res.Latency.P90, P99: res.Latency.P99, P999: res.Latency.P99_9, Max: res.Latency.Max, Mean: res.Latency.Mean,
		Errors: map[string]uint64{"connect": res.Errors.Connect, "reset": res.Errors.Reset, "timeout": res.Errors.Timeout, "parse": res.Errors.Parse, "non2xx": res.Errors.Non2xx},
		Status: res.Status.Map(), CoordinatedOmissionCorrected: res.CoordinatedOmissionCorrected, Engine: res.Engine,
	}
	e.mu.Unlock()
	e.turnPhase(i, run, record.PhaseCooldown)
	e.notify()
}

// laneURL is what lane i's load requests: a remote target's URL as given, or the
// request path on the local process's address.
func (e *Experiment) laneURL(i int, procs []*servers.Process) string {
	if l := e.lanes[i]; l.kind == record.KindRemote {
		return l.url
	}
	return "http://" + procs[i].Addr + e.opts.RequestPath()
}

// turnPhase records the peak of lane i's open phase, if any, and opens next ("" for none).
func (e *Experiment) turnPhase(i, run int, next string) {
	m := e.meters[i]
	now := e.since(time.Now())
	if m.phase != "" {
		e.mu.Lock()
		sampled := sampledPeak(e.rec.Targets[i].Runs[run].Samples, m.from, now)
		e.mu.Unlock()
		phase, peak := m.end(sampled)
		// A phase the process did not live to see has no peak, not a peak of 0.
		if peak.Source != record.PeakSampled || peak.Bytes > 0 {
			e.mu.Lock()
			tr := &e.rec.Targets[i].Runs[run]
			if tr.Peaks == nil {
				tr.Peaks = map[string]record.PeakRSS{}
			}
			tr.Peaks[phase] = peak
			e.mu.Unlock()
		}
	}
	if next != "" {
		m.begin(next, now)
	}
}

// consumeSamples appends each sample to the series slot picks; slot is called with e.mu
// held. Samples of the lanes themselves (not of their load workers) carry their cgroups'.
func (e *Experiment) consumeSamples(samples <-chan probe.Sample, run int, ofLanes bool, slot func(i int) *[]record.Sample) {
	index := map[string]int{}
	for i, l := range e.lanes {
		index[l.name] = i
	}
	for s := range samples {
		var groups []*cgroup.Group
		if ofLanes {
			e.mu.Lock()
			groups = e.groups
			e.mu.Unlock()
		}
		stats := e.readCgroups(groups)
		var killed []string
		e.mu.Lock()
		t := e.since(s.Time)
		for _, ts := range s.Targets {
			if ts.Exited {
				continue
			}
			i := index[ts.Name]
			var st *cgroup.Stats
			if i < len(stats) && stats[i] != nil {
				st = stats[i]
				// A built-in server is one process: its OOM kill is its exit, said there.
				if tr := &e.rec.Targets[i].Runs[run]; noteCgroup(tr, groups[i], *st) > 0 && e.lanes[i].kind == record.KindCommand {
					killed = append(killed, ts.Name)
				}
			}
			series := slot(i)
			*series = append(*series, withCgroup(toSample(t, ts.Total), st))
		}
		e.mu.Unlock()
		for _, name := range killed {
			// The target lives on: the OOM killer took one of its processes.
			e.event(name, "oom-kill", fmt.Sprintf("the kernel OOM-killed a process of %s at its cgroup's limit; the target goes on", name))
		}
		e.notify()
	}
}

// toSample keeps a probe reading in the record's own type, at offset t.
func toSample(t time.Duration, p probe.Process) record.Sample {
	return record.Sample{
		T: t, RSSBytes: p.RSSBytes, VSZBytes: p.VSZBytes, PeakRSSBytes: p.PeakRSSBytes, AnonBytes: p.AnonBytes,
		FileBytes: p.FileBytes, PSSBytes: p.PSSBytes, USSBytes: p.USSBytes, CPUPercent: p.CPUPercent,
		Threads: p.Threads, FDs: p.FDs, MinorFaults: p.MinorFaults,
	}
}
