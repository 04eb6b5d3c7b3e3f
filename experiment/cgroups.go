package experiment

import (
	"errors"
	"fmt"
	"time"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// ErrPlan marks a plan refused once it met the machine (a memory limit below what a
// server needs to start): the user's input to change, like a validation error.
var ErrPlan = errors.New("plan does not fit")

// usesCgroups says whether each lane runs in a memory cgroup of its own.
func (o Options) usesCgroups() bool { return o.Cgroup || o.MemoryLimit > 0 || o.Fit }

// beginCgroups removes what killed runs left behind and makes this run's parent cgroup.
func (e *Experiment) beginCgroups() (stop func(), err error) {
	if e.hierarchy == nil {
		return func() {}, nil
	}
	if removed, err := e.hierarchy.RemoveLeftovers(); err != nil {
		e.event("", record.EventWarning, "cannot remove a cgroup an earlier run left: "+err.Error())
	} else if len(removed) > 0 {
		e.event("", record.EventCgroup, fmt.Sprintf("removed %d cgroup(s) that killed runs left behind", len(removed)))
	}
	parent, err := e.hierarchy.Begin()
	if err != nil {
		return nil, err
	}
	e.cgParent = parent
	return func() {
		if err := parent.Close(); err != nil {
			e.event("", record.EventWarning, err.Error())
		}
	}, nil
}

// limitFor is lane i's memory limit in this run: the plan's, or its --fit trial's.
func (e *Experiment) limitFor(i int) uint64 {
	if e.opts.Fit {
		if i < len(e.fitLimits) {
			return e.fitLimits[i]
		}
		return 0
	}
	return e.opts.MemoryLimit
}

// enterCgroup makes lane i's cgroup for this run and has spec start inside it.
func (e *Experiment) enterCgroup(i, run int, spec *servers.Spec) (*cgroup.Group, error) {
	if e.cgParent == nil {
		return nil, nil
	}
	g, err := e.cgParent.NewGroup(fmt.Sprintf("r%d-%d-%s", run, i, e.lanes[i].name), e.limitFor(i))
	if err != nil {
		return nil, err
	}
	spec.Enter = append(append([]string(nil), e.opts.Self...), cgroup.ExecCommand, g.Dir, "--")
	return g, nil
}

// startFailed explains a lane that did not start: under a limit the kernel OOM-killed it
// while it started, which is the plan's fault, not the server's.
func startFailed(g *cgroup.Group, name string, err error) error {
	if g == nil {
		return err
	}
	st, rerr := g.Read()
	if rerr != nil || st.Events.OOMKill == 0 {
		return err
	}
	return fmt.Errorf("%w: --memory-limit %s is below what %s needs to start: the kernel OOM-killed it while it started (its cgroup peaked at %s); give it more", ErrPlan, record.MiBString(g.LimitBytes), name, record.MiBString(st.PeakBytes))
}

// checkIdleFits refuses a --memory-limit below a lane's RSS once it started: the
// limit would be measuring the kernel's reclaim of the server's own code, not its
// allocator. (A cgroup can hold less than RSS, as pages first touched elsewhere, such
// as a binary's cached text, stay charged there.)
func (e *Experiment) checkIdleFits(g *cgroup.Group, name string, pid int) error {
	if g == nil || g.LimitBytes == 0 {
		return nil
	}
	p, err := e.parts.proc.ReadProcess(pid)
	if err != nil || p.RSSBytes <= g.LimitBytes {
		return nil
	}
	return fmt.Errorf("%w: --memory-limit %s is below %s's idle RSS (%s): give it more than that", ErrPlan, record.MiBString(g.LimitBytes), name, record.MiBString(p.RSSBytes))
}

// readCgroups reads every live lane's cgroup, outside the record's lock.
func readCgroups(groups []*cgroup.Group) []*cgroup.Stats {
	out := make([]*cgroup.Stats, len(groups))
	for i, g := range groups {
		if g == nil {
			continue
		}
		if st, err := g.Read(); err == nil {
			out[i] = &st
		}
	}
	return out
}

// noteCgroup keeps a cgroup reading in lane i's run (in a Recorder.EditRun). It returns
// how many OOM kills are new since the last reading.
func noteCgroup(tr *record.TargetRun, g *cgroup.Group, st cgroup.Stats) (newKills uint64) {
	if tr.Cgroup == nil {
		tr.Cgroup = &record.CgroupRun{Path: g.Dir, LimitBytes: g.LimitBytes}
	}
	c := tr.Cgroup
	if st.PeakKnown {
		c.PeakBytes, c.PeakExact = max(c.PeakBytes, st.PeakBytes), true
	} else {
		c.PeakBytes = max(c.PeakBytes, st.UsageBytes)
	}
	c.WorkingSetPeakBytes = max(c.WorkingSetPeakBytes, st.WorkingSetBytes)
	if tr.Phases.LoadStart == 0 && tr.Exit == nil {
		c.IdleBytes = st.UsageBytes
	}
	if st.Events.OOMKill > c.Events.OOMKill {
		newKills = st.Events.OOMKill - c.Events.OOMKill
	}
	c.Events = record.CgroupEvents{High: st.Events.High, Max: st.Events.Max, OOM: st.Events.OOM, OOMKill: st.Events.OOMKill}
	return newKills
}

// withCgroup adds a cgroup reading to a sample.
func withCgroup(s record.Sample, st *cgroup.Stats) record.Sample {
	if st != nil {
		s.CgroupBytes, s.CgroupAnonBytes, s.CgroupFileBytes = st.UsageBytes, st.AnonBytes, st.FileBytes
		s.CgroupKernelBytes, s.CgroupSockBytes = st.KernelBytes, st.SockBytes
		s.CgroupWorkingSetBytes = st.WorkingSetBytes
	}
	return s
}

// oomKill describes an OOM kill at time t of a run: the limit and how far into its phase.
func oomKill(limit uint64, p record.Phases, t time.Duration) *record.OOMKill {
	phase, since := record.PhaseBaseline, p.Start
	switch {
	case p.LoadStart > 0 && (p.LoadEnd == 0 || t < p.LoadEnd) && t >= p.LoadStart:
		phase, since = record.PhaseLoad, p.LoadStart
	case p.LoadEnd > 0 && t >= p.LoadEnd:
		phase, since = record.PhaseCooldown, p.LoadEnd
	}
	return &record.OOMKill{LimitBytes: limit, Phase: phase, IntoPhase: max(t-since, 0)}
}
