package loadgen

import (
	"errors"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// An io_uring event loop sends and receives without a system call per request: one
// io_uring_enter submits the round's sends and collects what arrived. Against the built-in
// server on 2 cores (scripts/bench-loadgen.sh), the client's CPU per request is 5.6 µs at
// 100 connections where epoll with read/write takes 7.6 µs. At 1,000 connections the two
// cost the client the same, and the server spent more per request under io_uring (10.7
// against 9.6 µs, not explained yet). Kernels without what this needs (6.1+), or seccomp
// profiles that refuse io_uring, get the epoll loop.

const (
	sysIOUringSetup    = 425
	sysIOUringEnter    = 426
	sysIOUringRegister = 427

	setupCQSize       = 1 << 3
	setupSingleIssuer = 1 << 12
	setupDeferTaskrun = 1 << 13

	featExtArg = 1 << 8

	enterGetEvents = 1 << 0
	enterExtArg    = 1 << 3

	opPollAdd = 6
	opSend    = 26
	opRecv    = 27

	sqeBufferSelect   = 1 << 5
	sqeCQESkipSuccess = 1 << 6

	cqeFlagBuffer = 1 << 0
	cqeFlagMore   = 1 << 1

	recvMultishot = 1 << 1

	registerPbufRing = 22

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	// Receive buffers are shared by a loop's connections and handed to a receive only
	// when data arrives, so memory does not grow with the connections.
	recvBufSize  = 4096
	recvBufCount = 512
	recvBufGroup = 1

	sqEntries = 1024
)

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

type uringSQE struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, opFlags  uint32
	userData      uint64
	bufGroup      uint16
	personality   uint16
	spliceFdIn    int32
	addr3, pad    uint64
}

type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

type uringBuf struct {
	addr uint64
	len  uint32
	bid  uint16
	tail uint16 // in the first entry only: the ring's tail
}

type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	pad       uint32
	ts        uint64
}

type uring struct {
	fd       int
	sqTail   *uint32
	sqMask   uint32
	sqArray  []uint32
	sqes     []uringSQE
	pending  uint32
	cqHead   *uint32
	cqTail   *uint32
	cqMask   uint32
	cqes     []uringCQE
	bufRing  []uringBuf
	bufTail  uint16
	bufs     []byte
	mappings [][]byte
	timeout  unix.Timespec
	waitArg  getEventsArg
}

var errUringUnsupported = errors.New("io_uring unsupported")

// newUring sets up a ring for a loop of n connections, or says why it cannot.
func newUring(connections int) (*uring, error) {
	p := uringParams{flags: setupSingleIssuer | setupDeferTaskrun | setupCQSize}
	// Every connection has at most a receive and a send or poll in flight.
	// The kernel wants at least as many completion as submission entries.
	p.cqEntries = uint32(min(max(nextPow2(2*connections+64), 2*sqEntries), 1<<16))
	fd, _, errno := unix.Syscall(sysIOUringSetup, sqEntries, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, errno
	}
	r := &uring{fd: int(fd)}
	if p.features&featExtArg == 0 {
		r.close()
		return nil, errUringUnsupported
	}
	sq, err := unix.Mmap(r.fd, offSQRing, int(p.sqOff.array+p.sqEntries*4), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.close()
		return nil, err
	}
	r.mappings = append(r.mappings, sq)
	cq, err := unix.Mmap(r.fd, offCQRing, int(p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(uringCQE{}))), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.close()
		return nil, err
	}
	r.mappings = append(r.mappings, cq)
	sqes, err := unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.close()
		return nil, err
	}
	r.mappings = append(r.mappings, sqes)
	sqBase, cqBase := unsafe.Pointer(&sq[0]), unsafe.Pointer(&cq[0])
	r.sqTail = (*uint32)(unsafe.Add(sqBase, p.sqOff.tail))
	r.sqMask = *(*uint32)(unsafe.Add(sqBase, p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(sqBase, p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&sqes[0])), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Add(cqBase, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(cqBase, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(cqBase, p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*uringCQE)(unsafe.Add(cqBase, p.cqOff.cqes)), p.cqEntries)
	if err := r.registerBuffers(); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

func (r *uring) registerBuffers() error {
	ringMem, err := unix.Mmap(-1, 0, recvBufCount*int(unsafe.Sizeof(uringBuf{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return err
	}
	r.mappings = append(r.mappings, ringMem)
	r.bufRing = unsafe.Slice((*uringBuf)(unsafe.Pointer(&ringMem[0])), recvBufCount)
	reg := struct {
		ringAddr    uint64
		ringEntries uint32
		bgid        uint16
		flags       uint16
		resv        [3]uint64
	}{ringAddr: uint64(uintptr(unsafe.Pointer(&ringMem[0]))), ringEntries: recvBufCount, bgid: recvBufGroup}
	if _, _, errno := unix.Syscall6(sysIOUringRegister, uintptr(r.fd), registerPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0); errno != 0 {
		return errno
	}
	r.bufs = make([]byte, recvBufCount*recvBufSize)
	for bid := range recvBufCount {
		r.putBuffer(uint16(bid))
	}
	r.publishBuffers()
	return nil
}

// putBuffer gives a receive buffer back to the kernel; publishBuffers makes it visible.
func (r *uring) putBuffer(bid uint16) {
	b := &r.bufRing[r.bufTail&(recvBufCount-1)]
	b.addr = uint64(uintptr(unsafe.Pointer(&r.bufs[int(bid)*recvBufSize])))
	b.len = recvBufSize
	b.bid = bid
	r.bufTail++
}

func (r *uring) publishBuffers() {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&r.bufRing[0].bid)), uint32(r.bufTail)<<16|uint32(r.bufRing[0].bid))
}

func (r *uring) buffer(bid uint16, n int) []byte {
	return r.bufs[int(bid)*recvBufSize : int(bid)*recvBufSize+n]
}

// sqe returns the next free submission entry, submitting the queue first when it is full.
// It counts on the kernel consuming every submitted entry at once, which it does unless
// its completion queue overflows; that queue is sized for every connection's receive
// and send or poll in flight, with room to spare.
func (r *uring) sqe() *uringSQE {
	if r.pending == uint32(len(r.sqes)) {
		r.enter(0, -1)
	}
	i := (*r.sqTail + r.pending) & r.sqMask
	r.sqArray[i] = i
	r.pending++
	s := &r.sqes[i]
	*s = uringSQE{}
	return s
}

// enter submits what is queued and, when wait >= 0, waits up to wait for a completion.
func (r *uring) enter(minComplete uint32, wait time.Duration) error {
	atomic.StoreUint32(r.sqTail, *r.sqTail+r.pending)
	submit := r.pending
	r.pending = 0
	flags := uintptr(enterGetEvents | enterExtArg)
	// The kernel follows arg.ts, a pointer the garbage collector does not see: both live
	// in the ring's heap object, where a goroutine stack move cannot strand them.
	r.timeout = unix.NsecToTimespec(int64(max(wait, 0)))
	r.waitArg = getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&r.timeout)))}
	// Raw, like every wait of the loops: see rawWait.
	_, _, errno := unix.RawSyscall6(sysIOUringEnter, uintptr(r.fd), uintptr(submit), uintptr(minComplete), flags, uintptr(unsafe.Pointer(&r.waitArg)), unsafe.Sizeof(r.waitArg))
	switch errno {
	case 0, unix.ETIME:
		return nil
	case unix.EINTR:
		// The kernel reports a submission in preference to an interrupted wait, so
		// only a bare wait ends here. Back in Go code the runtime can preempt the
		// loop, which is what its signal asked for.
		return nil
	case unix.EBUSY, unix.EAGAIN:
		// Completions must be reaped first; the caller does that next.
		return nil
	}
	return errno
}

// completions calls f for each completion that has arrived, then frees their slots.
func (r *uring) completions(f func(userData uint64, res int32, flags uint32)) int {
	head := *r.cqHead
	tail := atomic.LoadUint32(r.cqTail)
	n := 0
	for ; head != tail; head++ {
		c := &r.cqes[head&r.cqMask]
		f(c.userData, c.res, c.flags)
		n++
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}

func (r *uring) close() {
	// Closing the ring cancels what is in flight; only then may its memory go.
	unix.Close(r.fd)
	for _, m := range r.mappings {
		unix.Munmap(m)
	}
	r.mappings = nil
}

// Completion tags: what a completion answers.
const (
	tagConnect = iota + 1
	tagSend
	tagRecv
)

func userData(c *conn, tag uint64) uint64 {
	return uint64(c.index) | uint64(c.gen&0xffffff)<<32 | tag<<56
}

// probeUring says whether this kernel and its seccomp profile give us what the io_uring
// loop needs. Rings are tied to the thread that made them, so each loop makes its own.
func probeUring() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := newUring(1)
	if err != nil {
		return err
	}
	r.close()
	return nil
}
