package loadgen

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// uringEngine submits every send and collects every response in one io_uring_enter a
// round, with one multishot receive per connection from a shared pool of buffers.
type uringEngine struct {
	w  *worker
	ur *uring
	// recvRetry holds connections whose receive found no free buffer, to be posted again
	// after the round.
	recvRetry []*conn
}

func newUringEngine(w *worker) (*uringEngine, error) {
	ur, err := newUring(len(w.conns))
	if err != nil {
		return nil, err
	}
	return &uringEngine{w: w, ur: ur}, nil
}

func (e *uringEngine) close() { e.ur.close() }

// register waits for the connect with a poll: the socket is writable once connected.
func (e *uringEngine) register(c *conn) error {
	s := e.ur.sqe()
	s.opcode, s.fd, s.opFlags, s.userData = opPollAdd, int32(c.fd), unix.POLLOUT, userData(c, tagConnect)
	return nil
}

// closing: entries still queued name the socket by its number, which the next socket may
// reuse at once, so they are submitted first, and a shutdown ends whatever of them waits.
func (e *uringEngine) closing(c *conn) {
	unix.Shutdown(c.fd, unix.SHUT_RDWR)
	e.ur.enter(0, -1)
}

func (e *uringEngine) wait(timeout time.Duration) error { return e.ur.enter(1, timeout) }

func (e *uringEngine) dispatch(int64) {
	// Everything reaped here had arrived by now: one clock read serves the batch.
	now := e.w.now()
	e.ur.completions(func(ud uint64, res int32, flags uint32) { e.onCompletion(ud, res, flags, now) })
	e.ur.publishBuffers()
	for _, c := range e.recvRetry {
		if c.fd >= 0 && c.state == connOpen {
			e.receive(c)
		}
	}
	e.recvRetry = e.recvRetry[:0]
}

func (e *uringEngine) onCompletion(ud uint64, res int32, flags uint32, now int64) {
	w := e.w
	c := w.conns[uint32(ud)]
	tag := ud >> 56
	if tag == tagRecv && flags&cqeFlagBuffer != 0 {
		bid := uint16(flags >> 16)
		defer e.ur.putBuffer(bid)
		if res > 0 && c.fd >= 0 && uint32(ud>>32)&0xffffff == c.gen&0xffffff {
			e.received(c, e.ur.buffer(bid, int(res)), flags&cqeFlagMore != 0, now)
			return
		}
	}
	if c.fd < 0 || uint32(ud>>32)&0xffffff != c.gen&0xffffff {
		return // a completion of a socket this connection has since closed
	}
	switch tag {
	case tagConnect:
		if !w.connected(c, res < 0 || res&(unix.POLLERR|unix.POLLHUP) != 0, now) {
			return
		}
		e.receive(c)
		w.send(c, now)
	case tagSend:
		switch {
		case res > 0:
			c.woff += int(res)
			if c.woff < c.wlen {
				e.write(c, now)
				return
			}
			c.woff, c.wlen = 0, 0
			// A send in flight holds back the next; now the pipeline or schedule may go on.
			w.ready = append(w.ready, c)
		case res == -int32(unix.EINTR) || res == -int32(unix.EAGAIN):
			e.write(c, now)
		default:
			w.drop(c, now, true, true)
		}
	case tagRecv:
		switch {
		case res == 0:
			// The server closed: a close-delimited body ends here, anything else is lost.
			if c.resp.eof() {
				w.complete(c, now)
			}
			w.drop(c, now, true, c.inflight > 0)
		case res == -int32(unix.ENOBUFS):
			e.recvRetry = append(e.recvRetry, c)
		case res == -int32(unix.EINTR) || res == -int32(unix.EAGAIN):
			e.receive(c)
		default:
			w.drop(c, now, true, true)
		}
	}
}

// received hands a receive's bytes to the parser; more says the receive goes on.
func (e *uringEngine) received(c *conn, b []byte, more bool, now int64) {
	w := e.w
	w.cur.bytes += uint64(len(b))
	c.lastProgress = now
	w.consume(c, b, now)
	if c.fd >= 0 && !more {
		e.receive(c)
	}
}

func (e *uringEngine) receive(c *conn) {
	s := e.ur.sqe()
	// One multishot receive serves a connection until it ends or buffers run out, so the
	// socket's poll stays armed instead of being armed again for every response.
	s.opcode, s.fd, s.flags, s.bufGroup, s.ioprio = opRecv, int32(c.fd), sqeBufferSelect, recvBufGroup, recvMultishot
	s.userData = userData(c, tagRecv)
}

func (e *uringEngine) write(c *conn, _ int64) {
	s := e.ur.sqe()
	s.opcode, s.fd, s.opFlags = opSend, int32(c.fd), unix.MSG_NOSIGNAL
	s.addr, s.len = uint64(uintptr(unsafe.Pointer(&e.w.batch[c.woff]))), uint32(c.wlen-c.woff)
	s.userData = userData(c, tagSend)
}
