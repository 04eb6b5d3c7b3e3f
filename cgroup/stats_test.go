package cgroup

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// cacheAndHold writes mib MiB to a file, so the group holds page cache, and as much
// anonymous memory, then waits for its stdin to close.
func cacheAndHold(path, mib string) {
	n, _ := strconv.Atoi(mib)
	b := make([]byte, n<<20)
	for i := range b {
		b[i] = byte(i)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	b[0]++
}

// kubeletWorkingSet reads the working set from the files themselves, the way the
// kubelet's documentation states it: usage minus inactive_file, at least 0.
func kubeletWorkingSet(t *testing.T, v Version, dir string) (ws, inactive uint64) {
	t.Helper()
	usageFile, key := "memory.current", "inactive_file"
	if v == V1 {
		usageFile, key = "memory.usage_in_bytes", "total_inactive_file"
	}
	b, err := os.ReadFile(filepath.Join(dir, usageFile))
	if err != nil {
		t.Fatal(err)
	}
	usage, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	stat, err := os.ReadFile(filepath.Join(dir, "memory.stat"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(stat), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == key {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			inactive = uint64(n)
			usage -= n
		}
	}
	return uint64(max(usage, 0)), inactive
}

func TestWorkingSetMatchesAnIndependentReading(t *testing.T) {
	h := realHierarchy(t)
	p, err := h.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	g, err := p.NewGroup("ws", 0)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	cmd := exec.Command(self, "__cgexec", g.Dir, "--", self, "__cache", filepath.Join(t.TempDir(), "cache"), "16")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		t.Fatalf("the child said %q", line)
	}
	// Stopped, the child charges nothing more; only reclaim can move pages between the
	// readings, so the figure read between two independent readings lies between them.
	cmd.Process.Signal(syscall.SIGSTOP)
	defer cmd.Process.Signal(syscall.SIGCONT)
	before, inactive := kubeletWorkingSet(t, g.Version, g.Dir)
	st, err := g.Read()
	if err != nil {
		t.Fatal(err)
	}
	after, _ := kubeletWorkingSet(t, g.Version, g.Dir)
	lo, hi := min(before, after), max(before, after)
	if st.WorkingSetBytes < lo || st.WorkingSetBytes > hi {
		t.Errorf("working set %d; read independently %d before and %d after", st.WorkingSetBytes, before, after)
	}
	if inactive == 0 || st.WorkingSetBytes >= st.UsageBytes {
		t.Errorf("the group holds no inactive page cache (%d) or the working set %d is not below the usage %d: the test shows nothing", inactive, st.WorkingSetBytes, st.UsageBytes)
	}
	if st.WorkingSetBytes < 16<<20 {
		t.Errorf("working set %d: less than the 16 MiB of anonymous memory the child holds", st.WorkingSetBytes)
	}
}

func TestWorkingSetIsFlooredAtZero(t *testing.T) {
	for _, c := range []struct{ usage, inactive, want uint64 }{
		{100, 30, 70}, {100, 100, 0}, {100, 130, 0}, {0, 0, 0},
	} {
		if got := workingSet(c.usage, c.inactive); got != c.want {
			t.Errorf("workingSet(%d, %d) = %d, want %d", c.usage, c.inactive, got, c.want)
		}
	}
}
