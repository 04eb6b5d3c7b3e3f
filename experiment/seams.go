package experiment

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/allocscope/allocscope/cgroup"
	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/servers"
)

// The parts an experiment drives, as it uses them: each has its real implementation
// here and a fake in the tests, which then run the phases without building a server.

// process is a started lane.
type process interface {
	PID() int
	Addr() string
	Done() <-chan struct{}
	Exit() servers.ExitStatus
	Output() []string
	Stop(grace time.Duration) servers.ExitStatus
}

// processStarter starts a lane's process and returns once it serves.
type processStarter interface {
	Start(ctx context.Context, spec servers.Spec) (process, error)
}

// builder provides a server binary per allocator.
type builder interface {
	CachedPath(alloc servers.Allocator) string
	Build(ctx context.Context, alloc servers.Allocator) (servers.Binary, error)
}

// loadRun is one lane's load in flight.
type loadRun interface {
	PID() int
	// Poll returns the seconds reported since the last Poll, without waiting; those
	// reported last are there once Done is closed.
	Poll() []loadgen.Snapshot
	Done() <-chan struct{}
	Wait() loadgen.Result
	Err() error
	Pause()
	Resume()
}

// loadStarter starts a lane's load.
type loadStarter interface {
	StartLoad(ctx context.Context, cfg loadgen.Config) (loadRun, error)
}

// heapReader talks to the built-in server: its allocator's figures and its purge.
type heapReader interface {
	Stats(ctx context.Context, addr string) (servers.Stats, error)
	// Poll asks every addr at once, runs meanwhile while the servers answer, and then
	// reads the answers; a nil entry is a server that did not answer before ctx's
	// deadline.
	Poll(ctx context.Context, addrs []string, meanwhile func()) []*servers.Stats
	Purge(ctx context.Context, addr string) (string, error)
}

// sampling is a set of processes sampled on the caller's clock (probe.Sampling).
type sampling interface {
	Next(now time.Time) (probe.Sample, int)
}

// prober reads /proc: samples, the kernel's peaks, one process's figures, CPU shares.
type prober interface {
	Open(targets []probe.Target, smaps bool) (sampling, error)
	ResetTreePeakRSS(pid int, tree bool) error
	TreePeakRSS(pid int, tree bool) (probe.TreePeak, error)
	ReadProcess(pid int) (probe.Process, error)
	// CPUMeter measures the CPU of root's process tree against the machine's.
	CPUMeter(root int) cpuMeter
}

// cpuMeter is probe.CPUMeter.
type cpuMeter interface {
	Read(groups map[int]int, n int) (probe.CPUSplit, bool, error)
}

// serverProcess is a servers.Process as a process.
type serverProcess struct{ p *servers.Process }

func (s serverProcess) PID() int                                    { return s.p.PID }
func (s serverProcess) Addr() string                                { return s.p.Addr }
func (s serverProcess) Done() <-chan struct{}                       { return s.p.Done() }
func (s serverProcess) Exit() servers.ExitStatus                    { return s.p.Exit() }
func (s serverProcess) Output() []string                            { return s.p.Output() }
func (s serverProcess) Stop(grace time.Duration) servers.ExitStatus { return s.p.Stop(grace) }

type realStarter struct{}

func (realStarter) Start(ctx context.Context, spec servers.Spec) (process, error) {
	p, err := servers.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return serverProcess{p}, nil
}

// workerLoads runs each load in a worker process of allocscope (self).
type workerLoads struct{ self []string }

func (w workerLoads) StartLoad(ctx context.Context, cfg loadgen.Config) (loadRun, error) {
	r, err := loadgen.StartRemote(ctx, append(append([]string(nil), w.self...), loadgen.WorkerCommand), cfg)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// httpHeap asks the built-in server over HTTP; the beat's asks go over a connection
// per server kept from beat to beat.
type httpHeap struct {
	client *http.Client
	mu     sync.Mutex
	conns  map[string]*servers.StatsConn
}

func (h *httpHeap) Poll(ctx context.Context, addrs []string, meanwhile func()) []*servers.Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Second)
	}
	out := make([]*servers.Stats, len(addrs))
	asked := make([]*servers.StatsConn, len(addrs))
	for i, addr := range addrs {
		c := h.conns[addr]
		if c == nil {
			c = &servers.StatsConn{Addr: addr}
			h.conns[addr] = c
		}
		if c.Ask(deadline) == nil {
			asked[i] = c
		}
	}
	meanwhile()
	for i, c := range asked {
		if c == nil {
			continue
		}
		if s, err := c.Answer(); err == nil {
			out[i] = &s
		}
	}
	// A server gone (a lane restarted on another port, a run over) is not asked again.
	for addr, c := range h.conns {
		if !slices.Contains(addrs, addr) {
			c.Close()
			delete(h.conns, addr)
		}
	}
	return out
}

func (h *httpHeap) Stats(ctx context.Context, addr string) (servers.Stats, error) {
	return servers.FetchStats(ctx, h.client, addr)
}

func (h *httpHeap) Purge(ctx context.Context, addr string) (string, error) {
	return servers.Purge(ctx, h.client, addr)
}

// procFS reads the /proc at a root.
type procFS struct {
	fs       probe.FS
	interval time.Duration
}

func (p procFS) Open(targets []probe.Target, smaps bool) (sampling, error) {
	s := &probe.Sampler{FS: p.fs, Interval: p.interval}
	if smaps {
		s.SmapsInterval = max(probe.DefaultSmapsInterval, p.interval)
	}
	g, err := s.Open(targets)
	if err != nil {
		return nil, err
	}
	return g, nil
}

func (p procFS) ResetTreePeakRSS(pid int, tree bool) error { return p.fs.ResetTreePeakRSS(pid, tree) }
func (p procFS) TreePeakRSS(pid int, tree bool) (probe.TreePeak, error) {
	return p.fs.TreePeakRSS(pid, tree)
}
func (p procFS) ReadProcess(pid int) (probe.Process, error) { return p.fs.ReadProcess(pid, 0) }
func (p procFS) CPUMeter(root int) cpuMeter                 { return &probe.CPUMeter{FS: p.fs, Root: root} }

// cgroupMaker makes the lanes' memory cgroups: a parent per run, after removing what
// killed runs left behind. A lane's cgroup.Group is read from its directory, which a
// fake makes anywhere.
type cgroupMaker interface {
	RemoveLeftovers() ([]string, error)
	Begin() (cgroupParent, error)
	// Version is the hierarchy's cgroup version, as the record says it ("v2").
	Version() cgroup.Version
}

// cgroupParent is a run's parent cgroup (cgroup.Parent).
type cgroupParent interface {
	NewGroup(name string, limit uint64) (*cgroup.Group, error)
	Close() error
}

// hierarchy is the machine's memory cgroup hierarchy as a cgroupMaker.
type hierarchy struct{ h *cgroup.Hierarchy }

func (h hierarchy) RemoveLeftovers() ([]string, error) { return h.h.RemoveLeftovers() }
func (h hierarchy) Version() cgroup.Version            { return h.h.Version }
func (h hierarchy) Begin() (cgroupParent, error) {
	p, err := h.h.Begin()
	if err != nil {
		return nil, err
	}
	return p, nil
}

// machineCgroups refuses a plan that needs cgroups where allocscope cannot make them,
// before anything starts: it makes its parent cgroup and removes it again.
func machineCgroups() (cgroupMaker, error) {
	h, err := cgroup.Writable("/")
	if err != nil {
		return nil, fmt.Errorf("--cgroup, --memory-limit and --fit need a memory cgroup: %w", err)
	}
	return hierarchy{h}, nil
}
