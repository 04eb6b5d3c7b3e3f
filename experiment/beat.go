package experiment

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/remote"
)

// The heartbeat is the experiment's one clock. Once per sampling interval it measures
// everything in one burst (the lanes' /proc, their allocators' /stats, their cgroups,
// the load workers' /proc and load seconds, the machine's CPU), appends it to the
// record, saves the record every few beats and tells the view, then sleeps. A process
// that did a little work at many moments of each second cost allocscope more than the
// work (Go's sysmon wakes with each of them): one burst a second is what is left.
type heartbeat struct {
	e *Experiment
	// mu makes a burst and a change of what it reads exclusive: once detach returns,
	// no burst writes to the run it removed.
	mu    sync.Mutex
	reset chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
	// saveEvery is how many beats apart the autosaves are; n counts the beats.
	saveEvery int
	n         int
	cpu       cpuMeter
}

func startHeartbeat(e *Experiment) *heartbeat {
	interval := e.opts.Interval
	h := &heartbeat{e: e, reset: make(chan struct{}, 1), done: make(chan struct{}),
		saveEvery: max(1, int((AutosaveInterval+interval/2)/interval)), cpu: e.cpu}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-h.reset:
				t.Reset(interval)
			case <-t.C:
				h.burst(true)
			}
		}
	}()
	return h
}

// stop ends the heartbeat once its burst in progress, if any, is over.
func (h *heartbeat) stop() {
	close(h.done)
	h.wg.Wait()
}

// attach makes r the run the heartbeat measures, takes its first reading at once and
// counts the next beats from now, so that a run's samples keep its own cadence.
func (h *heartbeat) attach(r *running) {
	h.mu.Lock()
	h.e.mu.Lock()
	h.e.now = r
	h.e.mu.Unlock()
	h.mu.Unlock()
	h.burst(false)
	select {
	case h.reset <- struct{}{}:
	default:
	}
}

// detach stops measuring the current run; no burst writes to it after.
func (h *heartbeat) detach() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.e.mu.Lock()
	h.e.now = nil
	h.e.mu.Unlock()
}

// change runs f between bursts (a load joining or leaving the run measured).
func (h *heartbeat) change(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
}

// burst is one beat: read everything, then write it, then tell the view.
func (h *heartbeat) burst(periodic bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.e
	now := time.Now()
	e.mu.Lock()
	r := e.now
	e.mu.Unlock()
	if r != nil {
		r.measure(e, now)
	}
	if h.cpu != nil && periodic {
		h.readCPU(now)
	}
	if periodic {
		h.n++
		if h.n%h.saveEvery == 0 && e.opts.SavePath != "" {
			e.Autosave(e.opts.SavePath)
		}
	}
	e.Notify()
}

// readCPU measures how the machine's CPU was shared since the last beat.
func (h *heartbeat) readCPU(now time.Time) {
	e := h.e
	split, ok, err := h.cpu.Read(e.cpuGroups(), 2)
	if err != nil {
		h.cpu = nil
		e.event("", record.EventWarning, fmt.Sprintf("the machine's other work is no longer measured: %v", err))
		return
	}
	if ok {
		e.AppendCPU(record.CPUShare{
			T: e.since(now), OtherPct: split.Other, ServersPct: split.Groups[cpuServers],
			GeneratorsPct: split.Groups[cpuGenerators], AllocscopePct: split.Groups[0], IRQPct: split.IRQ,
		})
	}
}

// remoteSource is a remote lane's memory source and how many reads in a row failed.
type remoteSource struct {
	src      remote.Source
	failures int
}

// measure reads the run's lanes and loads at now and appends what it read.
func (r *running) measure(e *Experiment, now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.Interval)
	defer cancel()
	// A remote source's read goes out while the rest is read here. The built-in
	// servers' /stats are asked all at once and answered in this goroutine: a goroutine
	// per server would wake a thread per server.
	heap := make([]*record.HeapStats, len(r.procs))
	mem := make([]*remote.Reading, len(r.procs))
	memErr := make([]error, len(r.procs))
	var wg sync.WaitGroup
	var statsOf []int
	var addrs []string
	for i, l := range e.lanes {
		switch {
		case l.kind == record.KindRemote && r.sources[i] != nil:
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := r.sources[i].src.Read(ctx)
				mem[i], memErr[i] = &m, err
			}()
		case l.hasStats() && r.procs[i] != nil && alive(r.procs[i]):
			statsOf = append(statsOf, i)
			addrs = append(addrs, r.procs[i].Addr())
		}
	}
	// The /proc and cgroup reads are done while the servers answer: the burst, and the
	// time Go's sysmon polls through it, is as short as the slower of the two.
	var lanes probe.Sample
	var stats []*cgroup.Stats
	clients := map[int]probe.Sample{}
	read := func() {
		if r.lanes != nil {
			if l, ok := r.lanes.(interface{ UnderLoad(bool) }); ok {
				l.UnderLoad(len(r.loads) > 0)
			}
			lanes, _ = r.lanes.Next(now)
		}
		stats = readCgroups(r.groups)
		for i, f := range r.loads {
			if f.sampling != nil {
				clients[i], _ = f.sampling.Next(now)
			}
		}
	}
	if len(addrs) == 0 {
		read()
	} else {
		// A server busy under load or gone has no figures this beat: the probe series
		// tells which.
		got := e.parts.heap.Poll(ctx, addrs, read)
		t := e.since(time.Now())
		for k, s := range got {
			if s != nil {
				heap[statsOf[k]] = &record.HeapStats{
					T: t, AllocatedBytes: s.AllocatedBytes, CommittedBytes: s.CommittedBytes,
					LiveBytes: s.LiveBytes, Requests: s.Requests, Version: s.Version, Raw: s.Raw,
				}
			}
		}
	}
	wg.Wait()

	t := e.since(now)
	var killed []string
	for _, ts := range lanes.Targets {
		if ts.Exited {
			continue
		}
		i := r.index[ts.Name]
		var st *cgroup.Stats
		if i < len(stats) && stats[i] != nil {
			st = stats[i]
			var kills uint64
			e.EditRun(i, r.run, func(tr *record.TargetRun) { kills = noteCgroup(tr, r.groups[i], *st) })
			// A built-in server is one process: its OOM kill is its exit, said there.
			if kills > 0 && e.lanes[i].kind == record.KindCommand {
				killed = append(killed, ts.Name)
			}
		}
		e.AppendSample(i, r.run, withCgroup(toSample(t, ts.Total), st))
	}
	for _, name := range killed {
		// The target lives on: the OOM killer took one of its processes.
		e.event(name, record.EventOOMKill, fmt.Sprintf("the kernel OOM-killed a process of %s at its cgroup's limit; the target goes on", name))
	}
	for i, h := range heap {
		if h != nil {
			e.AppendHeap(i, r.run, *h)
		}
	}
	for i, m := range mem {
		if m != nil {
			r.noteSource(e, i, *m, memErr[i], t)
		}
	}
	for i, f := range r.loads {
		for _, ts := range clients[i].Targets {
			if !ts.Exited {
				e.AppendClient(i, r.run, toSample(t, ts.Total))
			}
		}
		f.drain(e, i, r.run)
	}
}

// noteSource keeps a remote lane's reading; a source that failed three times in a row
// ends the lane's sampling with an event, and the others go on.
func (r *running) noteSource(e *Experiment, i int, m remote.Reading, err error, t time.Duration) {
	s := r.sources[i]
	if err == nil {
		s.failures = 0
		e.AppendSample(i, r.run, record.Sample{T: t, RSSBytes: m.RSSBytes, VSZBytes: m.VSZBytes})
		return
	}
	if s.failures++; s.failures < 3 {
		return
	}
	r.sources[i] = nil
	e.EditRun(i, r.run, func(tr *record.TargetRun) { tr.SourceError = err.Error() })
	name := e.lanes[i].name
	e.event(name, record.EventSourceLost, fmt.Sprintf("%s: its memory source stopped answering (%v); the lane's memory ends here, the others go on", name, err))
}

func alive(p process) bool {
	select {
	case <-p.Done():
		return false
	default:
		return true
	}
}
