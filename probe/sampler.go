package probe

import (
	"context"
	"errors"
	"time"
)

// DefaultInterval is the seed benchmark's cadence.
const DefaultInterval = time.Second

// DefaultSmapsInterval spaces smaps_rollup readings. Reading it walks every page table
// under the target's mmap lock: BenchmarkSmapsRollup measured 0.14 ms at 20 MiB RSS and
// 18 ms at 2 GiB, against 32 µs for statm+stat+status together, so it runs at a fifth
// of the default cadence.
const DefaultSmapsInterval = 5 * time.Second

// LoadSmapsFactor stretches the smaps cadence while the caller says the targets are under
// load (UnderLoad): there the walks were the largest part of allocscope's own CPU (their
// cost grows with RSS, which load grows), while the figure that needs PSS and LazyFree
// is read after the load, at rest. The trade-off: under load a sample's PSS, USS and
// LazyFree may be up to 2×SmapsInterval old (RSS, read each beat, is not); the load's
// end takes a fresh reading at once, so the rest after it is read at the full cadence
// from its first beat.
const LoadSmapsFactor = 2

// Target is a process, or a process and all its descendants, to sample.
type Target struct {
	Name string
	PID  int
	// Tree includes the descendants of PID (a shell wrapper, nginx's workers).
	Tree bool
}

// TargetSample is one target's figures at one instant.
type TargetSample struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// Total sums the tree; for a single process it is the process.
	Total Process `json:"total"`
	// Members lists each process of a tree with more than one member.
	Members []Process `json:"members,omitempty"`
	// Exited is set once, on the first sample after the process is gone; the target is not sampled again.
	Exited bool `json:"exited,omitempty"`
}

// Sample is every target at the same instant.
type Sample struct {
	Time    time.Time      `json:"time"`
	Targets []TargetSample `json:"targets"`
}

// Sampler samples targets together.
type Sampler struct {
	FS            FS
	Interval      time.Duration
	SmapsInterval time.Duration // 0 turns PSS/USS off
}

type tracked struct {
	Target
	startTicks map[int]uint64
	cpu        map[int]time.Duration
	smaps      map[int]smapsRollup
	exited     bool
}

// Sampling is a set of targets sampled step by step, on the caller's clock: Next takes
// one sample of every target still alive. It is not safe for concurrent use.
type Sampling struct {
	s         *Sampler
	ts        []*tracked
	r         reader
	lastSmaps time.Time
	lastTime  time.Time
	loaded    bool
}

// UnderLoad says whether the targets are under load from now on (LoadSmapsFactor).
func (g *Sampling) UnderLoad(loaded bool) {
	if g.loaded && !loaded {
		g.lastSmaps = time.Time{}
	}
	g.loaded = loaded
}

// Open validates the targets and returns them ready to be sampled by Next.
func (s *Sampler) Open(targets []Target) (*Sampling, error) {
	if s.Interval <= 0 {
		s.Interval = DefaultInterval
	}
	ts := make([]*tracked, len(targets))
	for i, t := range targets {
		if err := s.FS.Check(t.PID); err != nil {
			return nil, err
		}
		ts[i] = &tracked{Target: t, startTicks: map[int]uint64{}, cpu: map[int]time.Duration{}, smaps: map[int]smapsRollup{}}
	}
	return &Sampling{s: s, ts: ts}, nil
}

// Next samples every target not yet gone at now, and says how many are still alive; a
// target that exited is reported once, Exited, and not sampled again.
func (g *Sampling) Next(now time.Time) (Sample, int) {
	s := g.s
	every := s.SmapsInterval
	if g.loaded {
		every *= LoadSmapsFactor
	}
	smaps := every > 0 && now.Sub(g.lastSmaps) >= every-s.Interval/2
	if smaps {
		g.lastSmaps = now
	}
	sample := Sample{Time: now, Targets: make([]TargetSample, 0, len(g.ts))}
	var kids map[int][]int
	live := 0
	var elapsed time.Duration
	if !g.lastTime.IsZero() {
		elapsed = now.Sub(g.lastTime)
	}
	for _, t := range g.ts {
		if t.exited {
			continue
		}
		if t.Tree && kids == nil {
			kids, _ = s.FS.children(&g.r)
		}
		ts := s.sampleTarget(&g.r, t, kids, elapsed, smaps)
		sample.Targets = append(sample.Targets, ts)
		if !ts.Exited {
			live++
		}
	}
	g.lastTime = now
	return sample, live
}

// Run validates the targets, then samples them every Interval until ctx ends or every
// target has exited, and closes the channel. The first sample is taken at once.
func (s *Sampler) Run(ctx context.Context, targets []Target) (<-chan Sample, error) {
	g, err := s.Open(targets)
	if err != nil {
		return nil, err
	}
	out := make(chan Sample)
	go func() {
		defer close(out)
		start := time.Now()
		timer := time.NewTimer(0)
		defer timer.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			sample, live := g.Next(time.Now())
			select {
			case out <- sample:
			case <-ctx.Done():
				return
			}
			if live == 0 {
				return
			}
			// Schedule from the start, not from now, so the cadence never drifts.
			next := start.Add(time.Duration(n) * s.Interval)
			timer.Reset(time.Until(next))
		}
	}()
	return out, nil
}

func (s *Sampler) sampleTarget(r *reader, t *tracked, kids map[int][]int, elapsed time.Duration, smaps bool) TargetSample {
	out := TargetSample{Name: t.Name, PID: t.PID}
	root, err := s.readTracked(r, t, t.PID, elapsed, smaps)
	if err != nil {
		t.exited = true
		out.Exited = true
		return out
	}
	out.Total = root
	if t.Tree {
		members := []Process{root}
		for _, pid := range descendants(kids, t.PID) {
			p, err := s.readTracked(r, t, pid, elapsed, smaps)
			if err != nil {
				continue
			}
			members = append(members, p)
			out.Total.Add(p)
		}
		if len(members) > 1 {
			out.Members = members
		}
	}
	return out
}

func (s *Sampler) readTracked(r *reader, t *tracked, pid int, elapsed time.Duration, smaps bool) (Process, error) {
	p, err := s.FS.readProcess(r, pid, t.startTicks[pid])
	if err != nil {
		if errors.Is(err, ErrExited) {
			delete(t.startTicks, pid)
			delete(t.cpu, pid)
			delete(t.smaps, pid)
		}
		return Process{}, err
	}
	t.startTicks[pid] = p.StartTicks
	if prev, ok := t.cpu[pid]; ok && elapsed > 0 {
		p.CPUPercent = 100 * float64(p.CPUTime-prev) / float64(elapsed)
	}
	t.cpu[pid] = p.CPUTime
	if smaps {
		if sr, err := s.FS.smapsRollup(r, pid); err == nil {
			t.smaps[pid] = sr
		}
	}
	sr := t.smaps[pid]
	p.PSSBytes, p.USSBytes, p.LazyFreeBytes = sr.pssBytes, sr.ussBytes, sr.lazyFreeBytes
	return p, nil
}
