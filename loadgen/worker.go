package loadgen

import (
	"container/heap"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"
)

const (
	minBackoff     = int64(10 * time.Millisecond)
	maxBackoff     = int64(time.Second)
	timeoutScanGap = int64(100 * time.Millisecond)
	maxWait        = 50 // ms: how long epoll_wait may sleep, so pause and stop are seen promptly
)

// worker runs one event loop over its share of the connections: the connection state
// machine (connect, send, parse, complete, drop, timers) is here; moving the bytes is its
// I/O engine's (engine_epoll.go, engine_uring.go).
type worker struct {
	g  *Generator
	io ioEngine
	// sockaddr is this loop's own copy of the target's address.
	sockaddr unix.Sockaddr
	conns    []*conn
	timers   timers
	// batch is the generator's (Generator.batch), read by every loop, written by none.
	batch []byte

	mu    sync.Mutex // guards what the reporter takes each second
	cur   counters
	hist  *hdrhistogram.Histogram
	spare *hdrhistogram.Histogram
	open  int

	lastScan int64
	resumed  bool
	// ready holds connections whose response completed in this round; their next
	// requests go out together after the round, as wrk's do.
	ready []*conn
}

// ioEngine moves a worker's bytes. Each method runs on the worker's own thread.
type ioEngine interface {
	// register watches a socket whose connect is in progress.
	register(c *conn) error
	// write sends (or submits) c's pending bytes, w.batch[c.woff:c.wlen].
	write(c *conn, now int64)
	// closing readies c's socket for close.
	closing(c *conn)
	// wait blocks until something happened or timeout passed.
	wait(timeout time.Duration) error
	// dispatch hands what happened to the state machine; the worker's lock is held.
	dispatch(now int64)
	close()
}

func newWorker(g *Generator, n int) (*worker, error) {
	w := &worker{g: g, sockaddr: g.sockaddr(), hist: newHistogram(), spare: newHistogram(), batch: g.batch}
	w.conns = make([]*conn, n)
	for i := range w.conns {
		w.conns[i] = &conn{index: i, fd: -1, heapIdx: -1, sentAt: make([]int64, g.cfg.Pipelining)}
	}
	return w, nil
}

func (w *worker) now() int64 { return int64(time.Since(w.g.base)) }

func (w *worker) run() {
	// Raw syscalls do not yield the thread: give each event loop its own.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if w.g.interval == 0 {
		defer batchScheduling()()
	}
	io, err := w.newEngine()
	if err != nil {
		return
	}
	w.io = io
	defer io.close()
	w.connectAll(w.now())
	for {
		now := w.now()
		if now >= w.g.deadline || w.g.stopped.Load() {
			break
		}
		if err := io.wait(w.nextWait(now)); err != nil {
			break
		}
		w.mu.Lock()
		io.dispatch(w.now())
		w.afterRound(w.now())
		w.mu.Unlock()
	}
	w.closeAll()
}

// newEngine makes this loop's engine on its own thread: a ring belongs to the thread
// that made it. Should io_uring fail here after the probe worked, this loop uses epoll
// and the others are unaffected.
func (w *worker) newEngine() (ioEngine, error) {
	if w.g.engine == EngineUring {
		if e, err := newUringEngine(w); err == nil {
			return e, nil
		}
	}
	return newEpollEngine(w)
}

// connectAll opens every connection. In open loop their first sends are spread across
// one interval, so connections do not fire in step; with a mix, their first requests are
// spread across its cycle, so the mix holds across connections from the first round on.
func (w *worker) connectAll(now int64) {
	for i, c := range w.conns {
		k := i*len(w.g.workers) + w.index() // the connection's number among all loops'
		c.pos = k * w.g.cycle / w.g.cfg.Connections % w.g.cycle
		if w.g.interval > 0 {
			c.next = now + w.g.interval*int64(k)/int64(w.g.cfg.Connections)
		}
		w.connect(c, now)
	}
}

// nextWait is how long the loop may sleep: until the next timer, at most maxWait.
func (w *worker) nextWait(now int64) time.Duration {
	wait := time.Duration(maxWait) * time.Millisecond
	if len(w.timers) > 0 {
		wait = min(wait, time.Duration(w.timers[0].wake-now))
	}
	return max(wait, 0)
}

// afterRound sends the requests this round made ready, together, then runs what is due:
// timers, the timeout scan, a resume after a pause.
func (w *worker) afterRound(now int64) {
	for _, c := range w.ready {
		w.send(c, now)
	}
	w.ready = w.ready[:0]
	for len(w.timers) > 0 && w.timers[0].wake <= now {
		c := heap.Pop(&w.timers).(*conn)
		w.wakeUp(c, now)
	}
	if now-w.lastScan >= timeoutScanGap {
		w.lastScan = now
		w.scanTimeouts(now)
	}
	w.checkResume(now)
}

// closeConn closes a connection's socket, once its engine is ready for it.
func (w *worker) closeConn(c *conn) {
	if c.fd < 0 {
		return
	}
	w.io.closing(c)
	unix.Close(c.fd)
	c.fd = -1
}

func (w *worker) closeAll() {
	w.mu.Lock()
	for _, c := range w.conns {
		if c.fd >= 0 {
			unix.Close(c.fd)
			c.fd = -1
		}
	}
	w.open = 0
	w.mu.Unlock()
}

func (w *worker) index() int {
	for i, o := range w.g.workers {
		if o == w {
			return i
		}
	}
	return 0
}

func (w *worker) connect(c *conn, now int64) {
	g := w.g
	fd, err := unix.Socket(g.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		// Out of descriptors or memory: a connect error, retried with backoff.
		w.cur.errors.Connect++
		w.retry(c, now)
		return
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, w.sockaddr)
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		w.cur.errors.Connect++
		w.retry(c, now)
		return
	}
	c.fd, c.state = fd, connConnecting
	c.lastProgress = now
	c.gen++
	if err := w.io.register(c); err != nil {
		unix.Close(fd)
		c.fd = -1
		w.cur.errors.Connect++
		w.retry(c, now)
	}
}

// retry closes nothing; it schedules the next connect with exponential backoff.
func (w *worker) retry(c *conn, now int64) {
	c.state = connIdle
	if c.backoff == 0 {
		c.backoff = minBackoff
	} else {
		c.backoff = min(c.backoff*2, maxBackoff)
	}
	w.timers.schedule(c, now+c.backoff)
}

// drop closes a connection; lost counts the requests in flight as resets.
func (w *worker) drop(c *conn, now int64, lost bool, backoff bool) {
	w.closeConn(c) // closing also takes it out of the engine's watch
	c.wantOut = false
	if c.state == connOpen {
		w.open--
	}
	if lost && (c.inflight > 0 || c.resp.inProgress()) {
		w.cur.errors.Reset++
	}
	c.inflight, c.head, c.woff, c.wlen = 0, 0, 0, 0
	c.resp = response{partial: c.resp.partial[:0]}
	w.timers.cancel(c)
	switch {
	case w.g.stopped.Load():
		c.state = connIdle // the test is over: no new connection
	case backoff:
		w.retry(c, now)
	default:
		c.state = connIdle
		w.timers.schedule(c, now)
	}
}

// connected finishes a connect: a failed one is counted and retried, a good one opens.
func (w *worker) connected(c *conn, failed bool, now int64) bool {
	soErr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if failed || err != nil || soErr != 0 {
		w.closeConn(c)
		w.cur.errors.Connect++
		w.retry(c, now)
		return false
	}
	c.state = connOpen
	w.open++
	return true
}

// send starts as many requests as the pipeline, the amount and the schedule allow.
func (w *worker) send(c *conn, now int64) {
	g := w.g
	if c.state != connOpen || c.woff < c.wlen || g.paused.Load() {
		return
	}
	free := g.cfg.Pipelining - c.inflight
	if free <= 0 {
		return
	}
	if g.interval > 0 {
		// The connection's schedule restarts at c.next: sends are due every interval from it.
		n := due(ConstantPacer{Interval: time.Duration(g.interval)}, time.Duration(now-c.next), 0, free)
		if n == 0 {
			w.timers.schedule(c, c.next)
			return
		}
		free = n
	}
	free = g.reserve(free)
	if free == 0 {
		return
	}
	for i := 0; i < free; i++ {
		if g.interval > 0 {
			c.pushSent(c.next)
			c.next += g.interval
		} else {
			c.pushSent(now)
		}
	}
	if c.inflight == free {
		c.lastProgress = now
	}
	w.cur.sent += uint64(free)
	c.woff, c.wlen = g.offsets[c.pos], g.offsets[c.pos+free]
	c.pos = (c.pos + free) % g.cycle
	w.io.write(c, now)
	if g.interval > 0 && c.fd >= 0 {
		w.timers.schedule(c, c.next)
	}
}

func (w *worker) consume(c *conn, b []byte, now int64) {
	for len(b) > 0 && c.fd >= 0 {
		if c.inflight == 0 {
			// Bytes nobody asked for: not a server we can measure.
			w.cur.errors.Parse++
			w.drop(c, now, false, true)
			return
		}
		if g := w.g; g.head != nil && !c.resp.inProgress() {
			// A new response answers the oldest request in flight.
			c.resp.head = g.head[((c.pos-c.inflight)%g.cycle+g.cycle)%g.cycle]
		}
		used, done, err := c.resp.feed(b)
		if err != nil {
			w.cur.errors.Parse++
			w.drop(c, now, false, true)
			return
		}
		b = b[used:]
		if done {
			w.complete(c, now)
		}
	}
}

func (w *worker) complete(c *conn, now int64) {
	g := w.g
	sent := c.popSent()
	us := (now - sent) / int64(time.Microsecond)
	w.hist.RecordValue(min(max(us, histMin), histMax))
	w.cur.requests++
	status := c.resp.status
	w.cur.status[min(max(status, 0), 999)/100]++
	if status < 200 || status > 299 {
		w.cur.errors.Non2xx++
	}
	c.backoff = 0
	g.completed(1)
	if c.resp.close {
		// The server will answer nothing more on this connection.
		lost := c.inflight > 0
		w.drop(c, now, lost, false)
		return
	}
	w.ready = append(w.ready, c)
}

func (w *worker) wakeUp(c *conn, now int64) {
	switch c.state {
	case connIdle:
		w.connect(c, now)
	case connOpen:
		w.send(c, now)
	}
}

func (w *worker) scanTimeouts(now int64) {
	limit := int64(w.g.cfg.Timeout)
	for _, c := range w.conns {
		switch {
		case c.state == connOpen && c.inflight > 0 && now-c.lastProgress > limit:
			w.cur.errors.Timeout++
			w.drop(c, now, false, true)
		case c.state == connConnecting && now-c.lastProgress > limit:
			w.cur.errors.Timeout++
			w.closeConn(c)
			w.retry(c, now)
		}
	}
}

// checkResume restarts idle connections after a pause.
func (w *worker) checkResume(now int64) {
	paused := w.g.paused.Load()
	if paused {
		w.resumed = false
		return
	}
	if w.resumed {
		return
	}
	w.resumed = true
	for _, c := range w.conns {
		if c.state == connOpen && c.inflight == 0 {
			if w.g.interval > 0 && c.next < now {
				c.next = now
			}
			w.send(c, now)
		}
	}
}

// take hands the reporter this second's counts and latencies.
func (w *worker) take() (counters, *hdrhistogram.Histogram, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, h := w.cur, w.hist
	w.cur = counters{}
	w.hist, w.spare = w.spare, nil
	if w.hist == nil {
		w.hist = newHistogram()
	}
	return c, h, w.open
}

// giveBack returns a histogram the reporter has merged.
func (w *worker) giveBack(h *hdrhistogram.Histogram) {
	h.Reset()
	w.mu.Lock()
	w.spare = h
	w.mu.Unlock()
}
