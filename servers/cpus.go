package servers

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// CPUModifier, written as a lane's setting (jemalloc+cpus=2), confines the lane's server
// to that many CPUs, as a container smaller than the host would.
const CPUModifier = "cpus"

// AllowedCPUs is the number of CPUs allocscope itself may run on.
func AllowedCPUs() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return runtime.NumCPU()
	}
	return set.Count()
}

// CheckCPUs refuses a CPU count this machine cannot give.
func CheckCPUs(n int) error {
	if have := AllowedCPUs(); n < 1 || n > have {
		return fmt.Errorf("--cpus %d: give 1 to %d, the CPUs allocscope may run on here", n, have)
	}
	return nil
}

// firstCPUs is the first n CPUs of allocscope's own affinity.
func firstCPUs(n int) (unix.CPUSet, error) {
	var have, out unix.CPUSet
	if err := unix.SchedGetaffinity(0, &have); err != nil {
		return out, fmt.Errorf("cannot read allocscope's CPU affinity: %w", err)
	}
	for cpu := 0; n > 0 && cpu < len(have)*64; cpu++ {
		if have.IsSet(cpu) {
			out.Set(cpu)
			n--
		}
	}
	if n > 0 {
		return out, fmt.Errorf("allocscope may run on %d CPUs only: give --cpus %d or fewer", have.Count(), have.Count())
	}
	return out, nil
}

// pinned runs start (a fork and exec) on a thread confined to the first n CPUs, so the
// child inherits the mask at fork: the allocator and the runtime see n CPUs from their
// first instruction (glibc sizes its arena limit, tokio its workers, jemalloc its arenas
// from sched_getaffinity), which setting the mask after the start would not guarantee.
func pinned(n int, start func() error) error {
	if n <= 0 {
		return start()
	}
	set, err := firstCPUs(n)
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return err
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("cannot confine the server to %d CPUs: %w", n, err)
	}
	// The thread goes back to the scheduler as it was: Go may run any goroutine on it.
	defer unix.SchedSetaffinity(0, &old)
	return start()
}
