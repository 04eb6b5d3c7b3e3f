package loadgen

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The sockets are non-blocking, so read and write return at once: rawio's calls skip
// the scheduler's entersyscall/exitsyscall that syscall.Syscall pays on every call.
// A profile against the built-in server showed 86% of the generator's time in these
// two calls, so their overhead is the generator's.

// rawWait blocks in epoll_pwait without telling the scheduler, as the io_uring loop's
// enter does. Go 1.26's sysmon takes the P from a goroutine that has run for 10 ms
// without rescheduling, which a locked event loop always has, whenever it finds it in a
// scheduler-aware syscall; every such take resets sysmon to waking each 20 µs. Measured
// at 100 connections on 2 cores: sysmon woke about 3,000-5,500 times a second and took
// 8-14% of a core under io_uring. Holding the P is safe because Start keeps a spare P
// for everything else, and a signal (preemption, GC) ends the wait with EINTR.
func rawWait(epfd int, events []unix.EpollEvent, msec int) (int, error) {
	r, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// spinRounds bounds how often an idle event loop yields the core before it sleeps.
const spinRounds = 4

// pollBeforeSleep looks for events without blocking, yielding the core between looks.
// On a machine where the target shares the cores, an event loop that sleeps in
// epoll_wait as soon as its requests are out is woken by the target's very next
// response, preempting the target mid-work: measured against the built-in server on
// 2 cores at 100 connections, 6,000-8,000 sleeps a second per loop and 5,000-6,000
// preemptions a second per server thread.
// Yielding instead lets the target run while the loop stays runnable and cheap to resume.
func pollBeforeSleep(epfd int, events []unix.EpollEvent) (int, error) {
	for range spinRounds {
		if n, err := rawWait(epfd, events, 0); n > 0 || err != nil {
			return n, err
		}
		unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
	return 0, nil
}

// batchScheduling marks the calling thread SCHED_BATCH: the kernel then lets it wait for
// the running thread's slice to end instead of preempting it on wakeup. A closed-loop
// generator loses nothing by that, and the target it shares the cores with is no longer
// interrupted for every response. Where the policy is refused (a seccomp profile), the
// loop runs as before. The returned func restores the normal policy, so the thread can
// go back to the runtime's pool.
func batchScheduling() (restore func()) {
	set := func(policy uint32) {
		unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: policy}, 0)
	}
	set(unix.SCHED_BATCH)
	return func() { set(unix.SCHED_NORMAL) }
}
