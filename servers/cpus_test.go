package servers

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// cpusAllowed counts the CPUs of /proc/PID/status's Cpus_allowed_list (0-3,6).
func cpusAllowed(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Cpus_allowed_list:\s*(\S+)$`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no Cpus_allowed_list in /proc/%d/status", pid)
	}
	n := 0
	for _, r := range strings.Split(string(m[1]), ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		a, _ := strconv.Atoi(lo)
		b := a
		if isRange {
			b, _ = strconv.Atoi(hi)
		}
		n += b - a + 1
	}
	return n
}

// busyArenas has every worker thread of the server allocate (many requests at once), and
// returns the arenas glibc made.
func busyArenas(t *testing.T, p *Process) int {
	t.Helper()
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if resp, err := http.Get("http://" + p.Addr + "/alloc?count=200&size=256"); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	n, err := strconv.Atoi(stats(t, p).Settings["arenas"])
	if err != nil {
		t.Fatalf("/stats gives no glibc arena count: %v", stats(t, p).Settings)
	}
	return n
}

func TestACPUCountConfinesTheServerAndJemallocsArenasFollow(t *testing.T) {
	if AllowedCPUs() < 2 {
		t.Skip("one CPU: confining to one changes nothing")
	}
	bin := build(t, "jemalloc")
	spec := ServerSpec("one-cpu", bin.Path, "", 16)
	spec.CPUs = 1
	p := start(t, spec)
	if got := cpusAllowed(t, p.PID); got != 1 {
		t.Fatalf("the server may run on %d CPUs, want 1", got)
	}
	// jemalloc 5.3 counts the CPUs of its affinity mask (sched_getaffinity): 4 arenas per
	// CPU, and one alone on a single CPU (its arena_boot). A cpuset lowers them.
	if got, want := stats(t, p).Settings["narenas"], "1"; got != want {
		t.Errorf("jemalloc on one CPU runs %s arenas, want %s", got, want)
	}
	whole := start(t, ServerSpec("all-cpus", bin.Path, "", 16))
	if got, want := stats(t, whole).Settings["narenas"], strconv.Itoa(4*AllowedCPUs()); got != want {
		t.Errorf("jemalloc on %d CPUs runs %s arenas, want %s", AllowedCPUs(), got, want)
	}
	if err := CheckCPUs(AllowedCPUs() + 1); err == nil || !strings.Contains(err.Error(), "give 1 to") {
		t.Errorf("more CPUs than there are: got %v", err)
	}
}

func TestGlibcsArenaLimitCountsTheHostsCPUsNotTheAffinity(t *testing.T) {
	if AllowedCPUs() < 2 {
		t.Skip("one CPU: confining to one changes nothing")
	}
	bin := build(t, "system")
	spec := ServerSpec("one-cpu", bin.Path, "", 16)
	spec.CPUs = 1
	p := start(t, spec)
	if got := cpusAllowed(t, p.PID); got != 1 {
		t.Fatalf("the server may run on %d CPUs, want 1", got)
	}
	// glibc's limit is 8 arenas per online CPU (64-bit). Since 2.35.1 it counts the online
	// CPUs (/sys/devices/system/cpu/online), not the affinity mask: a process confined
	// to one CPU still gets 8 per host CPU, so the limit is the host's, as in a container.
	online := runtime.NumCPU()
	if got := busyArenas(t, p); got > 8*online {
		t.Errorf("glibc made %d arenas, more than 8 × %d online CPUs", got, online)
	}
}
