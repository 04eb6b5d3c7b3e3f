package servers

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/allocscope/allocscope/internal/rawio"
)

// StatsConn asks one built-in server for its /stats over a connection kept open from
// one ask to the next, in two steps (Ask, then Answer), so that a caller can ask every
// server before it reads any answer. An http.Client would take two goroutines per
// connection and hand each answer between them: wake-ups that a once-a-second reader
// on a loaded machine can do without. A StatsConn is for one goroutine at a time.
type StatsConn struct {
	Addr string
	conn net.Conn
	// rw is conn read and written with raw calls (rawio): the asks and answers are the
	// beat's, and a net.Conn's scheduler-aware read or write would wake Go's sysmon.
	// The conn's deadline holds for them as for its own Read and Write.
	rw io.ReadWriter
	r  *bufio.Reader
	// owed counts the asks sent whose answers are not read yet. A server busy under load
	// may answer after the deadline; its connection is kept, and the late answers are
	// skipped when they come. Closing it instead made each such beat dial again (a dozen
	// scheduler-aware syscalls, each waking Go's sysmon) and the server log an error.
	owed int
}

// maxOwed is how many answers a server may owe before its connection is given up and
// made again: at the default interval, an answer over 3 s late.
const maxOwed = 3

// maxStatsBytes bounds an answer; /stats is a few KiB.
const maxStatsBytes = 1 << 20

// Ask sends GET /stats, connecting first if need be; Answer must be given the same
// deadline, or a later one.
func (c *StatsConn) Ask(deadline time.Time) error {
	if c.conn == nil {
		d := net.Dialer{Deadline: deadline}
		conn, err := d.Dial("tcp", c.Addr)
		if err != nil {
			return err
		}
		var rw io.ReadWriter = conn
		if sc, ok := conn.(syscall.Conn); ok {
			if raw, err := rawio.NewConn(sc); err == nil {
				rw = raw
			}
		}
		c.conn, c.rw, c.r = conn, rw, bufio.NewReaderSize(rw, 16<<10)
	}
	c.conn.SetDeadline(deadline)
	if _, err := io.WriteString(c.rw, "GET /stats HTTP/1.1\r\nHost: "+c.Addr+"\r\n\r\n"); err != nil {
		c.Close()
		return err
	}
	c.owed++
	return nil
}

// Answer reads the answer to the last Ask, after skipping the late answers to earlier
// ones. No answer begun by the deadline leaves the connection open for the next Ask,
// unless maxOwed answers are due; any other error closes it, and the next Ask connects
// again.
func (c *StatsConn) Answer() (Stats, error) {
	for {
		if c.conn == nil {
			return Stats{}, net.ErrClosed
		}
		if _, err := c.r.Peek(1); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) || c.owed >= maxOwed {
				c.Close()
			}
			return Stats{}, err
		}
		late := c.owed > 1
		s, err := c.answer()
		if late && c.conn != nil {
			continue // an earlier ask's answer, read whole: whatever it said, it is stale
		}
		if err != nil {
			return s, err
		}
		if !late {
			if c.conn != nil {
				// A deadline left set is a timer left armed, which would wake the process
				// when it expires even though the answer is in.
				c.conn.SetDeadline(time.Time{})
			}
			return s, nil
		}
	}
}

// answer reads one answer, which has begun to come.
func (c *StatsConn) answer() (Stats, error) {
	var s Stats
	c.owed--
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.Close()
		return s, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatsBytes+1))
	resp.Body.Close()
	switch {
	case err != nil:
	case len(body) > maxStatsBytes:
		err = fmt.Errorf("/stats: the answer is over %d bytes", maxStatsBytes)
	case resp.StatusCode != http.StatusOK:
		err = fmt.Errorf("/stats: %s", resp.Status)
	}
	if err != nil || resp.Close {
		c.Close()
	}
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(body, &s)
}

// Close closes the connection, if open.
func (c *StatsConn) Close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.rw, c.r, c.owed = nil, nil, nil, 0
	}
}
