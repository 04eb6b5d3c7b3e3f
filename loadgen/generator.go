package loadgen

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Generator runs one load test against one target in this process.
type Generator struct {
	cfg Config
	// batch is one cycle of the requests written out, followed by Pipelining-1 more, so
	// that a connection's next n requests, wherever in the cycle it is, are the one slice
	// batch[offsets[p]:offsets[p+n]]: a full pipeline is one write.
	batch   []byte
	offsets []int
	cycle   int
	// head[p] says the request at cycle position p is HEAD, whose response has no body;
	// nil when none is.
	head     []bool
	family   int
	addr     *net.TCPAddr
	base     time.Time
	deadline int64 // ns since base
	interval int64 // open loop: ns between two requests on one connection
	workers  []*worker
	engine   string
	uringErr error // why auto chose epoll

	// remaining is the amount (-a) not yet reserved; negative means unbounded.
	remaining atomic.Int64
	received  atomic.Int64
	stopped   atomic.Bool
	paused    atomic.Bool

	snapshots chan Snapshot
	done      chan struct{}
	result    Result
}

// Start validates cfg and starts the test. Snapshots arrive each second; the channel
// closes when the test ends (its duration, its amount, or ctx), after which Wait returns.
func Start(ctx context.Context, cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := CheckPlan(CurrentLimits(), cfg); err != nil {
		return nil, err
	}
	return start(ctx, cfg)
}

// start starts a config already validated (by Start, or by StartRemote in the parent
// process of a worker).
func start(ctx context.Context, cfg Config) (*Generator, error) {
	cfg = cfg.withDefaults()
	t, err := cfg.target(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = t.addr.String()
	}
	raiseFDLimit()
	g := &Generator{cfg: cfg, snapshots: make(chan Snapshot, 16), done: make(chan struct{})}
	g.prepare(cfg.requests(t), t.hostPort)
	g.addr = t.addr
	g.family = unix.AF_INET6
	if t.addr.IP.To4() != nil {
		g.family = unix.AF_INET
	}
	if cfg.Amount > 0 {
		g.remaining.Store(int64(cfg.Amount))
	} else {
		g.remaining.Store(-1)
	}
	if cfg.Rate > 0 {
		g.interval = int64(float64(cfg.Connections) / cfg.Rate * float64(time.Second))
	}
	n := cfg.Workers
	if n <= 0 {
		n = defaultLoops
	}
	n = min(n, cfg.Connections)
	g.engine = EngineEpoll
	if cfg.Engine != EngineEpoll {
		if err := probeUring(); err == nil {
			g.engine = EngineUring
		} else if cfg.Engine == EngineUring {
			return nil, fmt.Errorf("io_uring is not available here (%v): use --engine epoll", err)
		} else {
			g.uringErr = err
		}
	}
	g.base = time.Now()
	g.deadline = int64(cfg.Duration)
	for i := 0; i < n; i++ {
		share := cfg.Connections / n
		if i < cfg.Connections%n {
			share++
		}
		w, err := newWorker(g, share)
		if err != nil {
			return nil, fmt.Errorf("epoll: %w", err)
		}
		g.workers = append(g.workers, w)
	}
	keepSpareP(len(g.workers))
	var wg sync.WaitGroup
	for _, w := range g.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer keepSpareP(-1)
			w.run()
		}()
	}
	go func() {
		<-ctx.Done()
		g.stopped.Store(true)
	}()
	go g.report(ctx, &wg)
	return g, nil
}

// prepare serialises the requests once, in their cycle's order, for every connection.
func (g *Generator) prepare(reqs []Request, hostPort string) {
	seq := cycle(reqs)
	wire := make([][]byte, len(reqs))
	for i, r := range reqs {
		wire[i] = requestBytes(r, hostPort)
	}
	g.cycle = len(seq)
	n := len(seq) + g.cfg.Pipelining - 1
	g.offsets = make([]int, 0, n+1)
	for k := range n {
		g.offsets = append(g.offsets, len(g.batch))
		g.batch = append(g.batch, wire[seq[k%len(seq)]]...)
	}
	g.offsets = append(g.offsets, len(g.batch))
	for p, i := range seq {
		if reqs[i].Method == "HEAD" {
			if g.head == nil {
				g.head = make([]bool, len(seq))
			}
			g.head[p] = true
		}
	}
}

// defaultLoops is one event loop per P the program started with, read before any
// generator grows GOMAXPROCS.
var defaultLoops = runtime.GOMAXPROCS(0)

// loopsRunning counts the event loops of every generator in this process.
var loopsRunning struct {
	sync.Mutex
	n int
}

// keepSpareP counts delta more (or fewer) running event loops and grows GOMAXPROCS so
// that one P is left over. The loops hold their Ps even while they wait (see rawWait);
// the spare runs the reporter, timers and the rest of the program.
func keepSpareP(delta int) {
	loopsRunning.Lock()
	defer loopsRunning.Unlock()
	loopsRunning.n += delta
	if runtime.GOMAXPROCS(0) <= loopsRunning.n {
		runtime.GOMAXPROCS(loopsRunning.n + 1)
	}
}

// sockaddr is the target's address for connect. Each loop needs its own: x/sys/unix
// writes its encoding into the value on every call.
func (g *Generator) sockaddr() unix.Sockaddr {
	if ip4 := g.addr.IP.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: g.addr.Port}
		copy(sa.Addr[:], ip4)
		return sa
	}
	sa := &unix.SockaddrInet6{Port: g.addr.Port}
	copy(sa.Addr[:], g.addr.IP.To16())
	return sa
}

// reserve takes up to n requests from the amount budget.
func (g *Generator) reserve(n int) int {
	for {
		r := g.remaining.Load()
		if r < 0 {
			return n
		}
		if r == 0 {
			return 0
		}
		take := min(int64(n), r)
		if g.remaining.CompareAndSwap(r, r-take) {
			return int(take)
		}
	}
}

func (g *Generator) completed(n int64) {
	if g.received.Add(n) >= int64(g.cfg.Amount) && g.cfg.Amount > 0 {
		g.stopped.Store(true)
	}
}

// Snapshots delivers one Snapshot per second of the test.
func (g *Generator) Snapshots() <-chan Snapshot { return g.snapshots }

// Wait blocks until the test has ended and returns its result.
func (g *Generator) Wait() Result {
	<-g.done
	return g.result
}

// Pause stops sending new requests (responses in flight still count); Resume goes on.
func (g *Generator) Pause() { g.paused.Store(true) }

// Resume undoes Pause.
func (g *Generator) Resume() { g.paused.Store(false) }

// Stop ends the test early, as if its duration were over.
func (g *Generator) Stop() { g.stopped.Store(true) }

// Engine is the I/O engine the loops use, EngineUring or EngineEpoll, and why not io_uring.
func (g *Generator) Engine() (engine string, uringErr error) { return g.engine, g.uringErr }

// Config is the test's config with defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

func (g *Generator) report(ctx context.Context, wg *sync.WaitGroup) {
	defer close(g.done)
	defer close(g.snapshots)
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	total := newHistogram()
	interval := newHistogram()
	var sum counters
	var perSecReq, perSecBytes []float64
	var measuredStart time.Time
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	second := 0
	last := g.base
	collect := func(now time.Time) {
		second++
		var c counters
		open := 0
		interval.Reset()
		for _, w := range g.workers {
			wc, h, o := w.take()
			c.add(wc)
			open += o
			interval.Merge(h)
			w.giveBack(h)
		}
		warm := now.Sub(g.base) <= g.cfg.Warmup && g.cfg.Warmup > 0
		snap := Snapshot{
			Target: g.cfg.Name, Second: second, Time: now, Requests: c.requests, Bytes: c.bytes,
			Status: c.status, Errors: c.errors, Latency: summarize(interval), Connections: open, Warmup: warm, Paused: g.paused.Load(),
		}
		if !warm {
			if measuredStart.IsZero() {
				measuredStart = last
			}
			sum.add(c)
			total.Merge(interval)
			// A last, partial second would skew the per-second spread: scale it.
			secs := now.Sub(last).Seconds()
			if secs > 0.05 {
				perSecReq = append(perSecReq, float64(c.requests)/secs)
				perSecBytes = append(perSecBytes, float64(c.bytes)/secs)
			}
		}
		last = now
		select {
		case g.snapshots <- snap:
		case <-ctx.Done():
		default:
			// Nobody is reading fast enough: keep the generator's clock, not the reader's.
		}
	}
	for {
		select {
		case <-timer.C:
			now := time.Now()
			collect(now)
			timer.Reset(time.Until(g.base.Add(time.Duration(second+1) * time.Second)))
			continue
		case <-finished:
		}
		break
	}
	end := time.Now()
	if end.After(last) {
		collect(end)
	}
	if measuredStart.IsZero() {
		measuredStart = g.base
	}
	g.result = Result{
		Target: g.cfg.Name, URL: g.cfg.URL, Connections: g.cfg.Connections, Pipelining: g.cfg.Pipelining, Rate: g.cfg.Rate,
		Start: measuredStart, Duration: end.Sub(measuredStart), Requests: sum.requests, Sent: sum.sent, Bytes: sum.bytes,
		Status: sum.status, Errors: sum.errors, Latency: summarize(total),
		ReqPerSec: distribution(perSecReq), BytesPerSec: distribution(perSecBytes),
		CoordinatedOmissionCorrected: g.cfg.Rate > 0, Histogram: total.Export(), Engine: g.engine,
		Interrupted: ctx.Err() != nil,
	}
}
