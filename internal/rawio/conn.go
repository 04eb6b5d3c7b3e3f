package rawio

import (
	"io"
	"syscall"

	"golang.org/x/sys/unix"
)

// Conn reads and writes a socket or pipe that is in Go's poller with raw calls: when the
// fd is not ready the call waits in the poller as a net.Conn's would, and the conn's
// deadlines hold as they do for a net.Conn. Its errors are the errno, or the poller's
// (os.ErrDeadlineExceeded, net.ErrClosed).
type Conn struct {
	rc syscall.RawConn
}

// NewConn wraps c, a *net.TCPConn, *net.UnixConn or *os.File among others.
func NewConn(c syscall.Conn) (Conn, error) {
	rc, err := c.SyscallConn()
	return Conn{rc: rc}, err
}

// Read reads what is there, waiting in the poller until something is; io.EOF at the end.
func (c Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	perr := c.rc.Read(func(fd uintptr) bool {
		for {
			n, err = Read(int(fd), p)
			if err != unix.EINTR {
				return err != unix.EAGAIN
			}
		}
	})
	switch {
	case perr != nil:
		return 0, perr
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p, waiting in the poller while the fd is full.
func (c Conn) Write(p []byte) (int, error) {
	done := 0
	var err error
	perr := c.rc.Write(func(fd uintptr) bool {
		for done < len(p) {
			var n int
			n, err = Write(int(fd), p[done:])
			switch err {
			case nil:
				done += n
			case unix.EINTR:
			case unix.EAGAIN:
				err = nil
				return false
			default:
				return true
			}
		}
		return true
	})
	if perr != nil {
		return done, perr
	}
	return done, err
}
