package loadgen

import (
	"errors"
	"time"

	"github.com/allocscope/allocscope/internal/rawio"
	"golang.org/x/sys/unix"
)

// epollEngine is level-triggered epoll with one read and one write per readiness, as
// wrk does: one read per event instead of reading until EAGAIN, and EPOLLOUT armed
// only while a connect or a write is pending.
type epollEngine struct {
	w       *worker
	epfd    int
	events  []unix.EpollEvent
	ready   int
	readBuf []byte
}

func newEpollEngine(w *worker) (*epollEngine, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &epollEngine{w: w, epfd: epfd, events: make([]unix.EpollEvent, 512), readBuf: make([]byte, 64<<10)}, nil
}

func (e *epollEngine) close() { unix.Close(e.epfd) }

func (e *epollEngine) register(c *conn) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP, Fd: int32(c.index)}
	c.wantOut = true
	return unix.EpollCtl(e.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev)
}

// closing needs nothing: closing the socket takes it out of the epoll set.
func (e *epollEngine) closing(*conn) {}

func (e *epollEngine) wait(timeout time.Duration) error {
	msec := int((timeout + time.Millisecond - 1) / time.Millisecond)
	n, err := pollBeforeSleep(e.epfd, e.events)
	if n == 0 && err == nil {
		n, err = rawWait(e.epfd, e.events, msec)
	}
	e.ready = max(n, 0)
	if err != nil && !errors.Is(err, unix.EINTR) {
		return err
	}
	return nil
}

func (e *epollEngine) dispatch(int64) {
	for i := 0; i < e.ready; i++ {
		e.handle(e.w.conns[e.events[i].Fd], e.events[i].Events)
	}
	e.ready = 0
}

func (e *epollEngine) handle(c *conn, ev uint32) {
	w := e.w
	now := w.now()
	if c.fd < 0 {
		return
	}
	if c.state == connConnecting {
		if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		if !w.connected(c, ev&unix.EPOLLERR != 0, now) {
			return
		}
		e.armOut(c, false)
		w.send(c, now)
		if c.fd < 0 {
			return
		}
	}
	if ev&unix.EPOLLOUT != 0 && c.woff < c.wlen {
		e.write(c, now)
		if c.fd < 0 {
			return
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		e.read(c)
	}
}

func (e *epollEngine) write(c *conn, now int64) {
	w := e.w
	for c.woff < c.wlen {
		n, err := rawio.Write(c.fd, w.batch[c.woff:c.wlen])
		if n > 0 {
			c.woff += n
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			e.armOut(c, true) // EPOLLOUT resumes the write
			return
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		w.drop(c, now, true, true)
		return
	}
	c.woff, c.wlen = 0, 0
	e.armOut(c, false)
}

// armOut asks for EPOLLOUT while a write waits, and stops asking once it is done.
func (e *epollEngine) armOut(c *conn, on bool) {
	if c.wantOut == on || c.fd < 0 {
		return
	}
	c.wantOut = on
	events := uint32(unix.EPOLLIN | unix.EPOLLRDHUP)
	if on {
		events |= unix.EPOLLOUT
	}
	ev := unix.EpollEvent{Events: events, Fd: int32(c.index)}
	unix.EpollCtl(e.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
}

func (e *epollEngine) read(c *conn) {
	w := e.w
	for c.fd >= 0 {
		n, err := rawio.Read(c.fd, e.readBuf)
		now := w.now()
		if n > 0 {
			w.cur.bytes += uint64(n)
			c.lastProgress = now
			w.consume(c, e.readBuf[:n], now)
			if n < len(e.readBuf) {
				return // level-triggered: epoll says so if more arrives
			}
			continue
		}
		if n == 0 && err == nil {
			// The server closed: a close-delimited body ends here, anything else is lost.
			if c.resp.eof() {
				w.complete(c, now)
			}
			w.drop(c, now, true, c.inflight > 0)
			return
		}
		if errors.Is(err, unix.EAGAIN) {
			return
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		w.drop(c, now, true, true)
		return
	}
}
