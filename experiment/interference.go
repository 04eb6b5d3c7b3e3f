package experiment

import (
	"fmt"
	"os"

	"github.com/allocscope/allocscope/record"
)

// The groups of allocscope's process tree that the CPU meter tells apart.
const (
	cpuServers    = 1
	cpuGenerators = 2
)

// meterInterference prepares the heartbeat to measure, each beat, how the machine's CPU
// is shared between the lanes' servers, the load workers, allocscope and everything
// else, into the record's Interference; stop summarizes it. Everything the experiment
// starts is a descendant of allocscope, so what is not in its process tree is other work.
func (e *Experiment) meterInterference() (stop func()) {
	m := e.parts.proc.CPUMeter(os.Getpid())
	if _, _, err := m.Read(nil, 0); err != nil {
		e.event("", record.EventWarning, fmt.Sprintf("the machine's other work is not measured: %v", err))
		return func() {}
	}
	e.Edit(func(r *record.Record) { r.Interference = &record.Interference{AllowBusy: e.opts.AllowBusy} })
	e.cpu = m
	return func() {
		var busy bool
		var mean, top float64
		e.Edit(func(r *record.Record) {
			in := r.Interference
			in.Summarize(r)
			busy, mean, top = in.Busy, in.MeanOtherPct, in.MaxOtherPct
		})
		if busy {
			e.event("", record.EventBusy, fmt.Sprintf("the machine was busy with other work (%.0f%% of its CPU on average under load, up to %.0f%%): the differences between the lanes may be its, not the allocators'", mean, top))
		}
	}
}

// cpuGroups names the PIDs of the lanes' servers and of the load workers running now.
func (e *Experiment) cpuGroups() map[int]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	groups := map[int]int{}
	if e.now == nil {
		return groups
	}
	for _, p := range e.now.procs {
		if p != nil {
			groups[p.PID()] = cpuServers
		}
	}
	for _, l := range e.now.loadRuns() {
		groups[l.PID()] = cpuGenerators
	}
	return groups
}
