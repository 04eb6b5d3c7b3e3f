package experiment

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
)

// The groups of allocscope's process tree that the CPU meter tells apart.
const (
	cpuServers    = 1
	cpuGenerators = 2
)

// meterInterference measures, every interval until stop, how the machine's CPU is shared
// between the lanes' servers, the load workers, allocscope and everything else, into the
// record's Interference. Everything the experiment starts is a descendant of allocscope,
// so what is not in its process tree is other work.
func (e *Experiment) meterInterference() (stop func()) {
	fs, err := probe.NewFS(probe.DefaultRoot)
	if err != nil {
		e.event("", "warning", fmt.Sprintf("the machine's other work is not measured: %v", err))
		return func() {}
	}
	m := &probe.CPUMeter{FS: fs, Root: os.Getpid()}
	if _, _, err := m.Read(nil, 0); err != nil {
		e.event("", "warning", fmt.Sprintf("the machine's other work is not measured: %v", err))
		return func() {}
	}
	e.mu.Lock()
	e.rec.Interference = &record.Interference{AllowBusy: e.opts.AllowBusy}
	e.mu.Unlock()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(e.Options().Interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			split, ok, err := m.Read(e.cpuGroups(), 2)
			if err != nil {
				e.event("", "warning", fmt.Sprintf("the machine's other work is no longer measured: %v", err))
				return
			}
			if !ok {
				continue
			}
			e.mu.Lock()
			in := e.rec.Interference
			in.Series = append(in.Series, record.CPUShare{
				T: e.since(time.Now()), OtherPct: split.Other, ServersPct: split.Groups[cpuServers],
				GeneratorsPct: split.Groups[cpuGenerators], AllocscopePct: split.Groups[0], IRQPct: split.IRQ,
			})
			in.Summarize(e.rec)
			e.mu.Unlock()
			e.notify()
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		e.mu.Lock()
		in := e.rec.Interference
		in.Summarize(e.rec)
		busy, mean, top := in.Busy, in.MeanOtherPct, in.MaxOtherPct
		e.mu.Unlock()
		if busy {
			e.event("", "warning", fmt.Sprintf("the machine was busy with other work (%.0f%% of its CPU on average under load, up to %.0f%%): the differences between the lanes may be its, not the allocators'", mean, top))
		}
	}
}

// cpuGroups names the PIDs of the lanes' servers and of the load workers running now.
func (e *Experiment) cpuGroups() map[int]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	groups := map[int]int{}
	for _, p := range e.procs {
		if p != nil {
			groups[p.PID] = cpuServers
		}
	}
	for _, l := range e.loads {
		groups[l.PID()] = cpuGenerators
	}
	return groups
}
