package loadgen

import (
	"container/heap"
)

type connState uint8

const (
	connIdle connState = iota // closed, waiting for its reconnect timer
	connConnecting
	connOpen
)

// conn is one keep-alive connection. It is owned by one worker and never shared.
type conn struct {
	index    int
	fd       int
	state    connState
	resp     response
	inflight int
	// sentAt holds the send (open loop: scheduled) time of each request in flight, oldest first.
	sentAt []int64
	head   int
	// A batch of requests being written: the worker's batch[woff:wlen] is left to write.
	woff, wlen int
	// pos is where in the mix's cycle the connection's next request is.
	pos     int
	wantOut bool
	// Open loop: when the next request is due.
	next int64
	// lastProgress is when the connection last sent or read; it bounds the wait for a response.
	lastProgress int64
	backoff      int64
	// Timer heap bookkeeping: wake is when the worker must look at this connection again.
	wake    int64
	heapIdx int
	// gen tells this connection's io_uring completions from those of its earlier sockets.
	gen uint32
}

func (c *conn) pushSent(t int64) {
	c.sentAt[(c.head+c.inflight)%len(c.sentAt)] = t
	c.inflight++
}

func (c *conn) popSent() int64 {
	t := c.sentAt[c.head]
	c.head = (c.head + 1) % len(c.sentAt)
	c.inflight--
	return t
}

// timers orders connections by wake time; a connection is in it at most once.
type timers []*conn

func (t timers) Len() int           { return len(t) }
func (t timers) Less(i, j int) bool { return t[i].wake < t[j].wake }
func (t timers) Swap(i, j int) {
	t[i], t[j] = t[j], t[i]
	t[i].heapIdx, t[j].heapIdx = i, j
}
func (t *timers) Push(x any) {
	c := x.(*conn)
	c.heapIdx = len(*t)
	*t = append(*t, c)
}
func (t *timers) Pop() any {
	old := *t
	c := old[len(old)-1]
	*t = old[:len(old)-1]
	c.heapIdx = -1
	return c
}

func (t *timers) schedule(c *conn, at int64) {
	c.wake = at
	if c.heapIdx >= 0 {
		heap.Fix(t, c.heapIdx)
	} else {
		heap.Push(t, c)
	}
}

func (t *timers) cancel(c *conn) {
	if c.heapIdx >= 0 {
		heap.Remove(t, c.heapIdx)
	}
}
