package probe

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

const lazyFreeEnv = "PROBE_TEST_LAZYFREE_MIB"

// lazyFree is the child that gives memory back with MADV_FREE and idles: the pages stay
// in its RSS as LazyFree until the kernel needs them.
func lazyFree(mib int) {
	b, err := unix.Mmap(-1, 0, mib<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		fmt.Println("mmap:", err)
		return
	}
	for i := 0; i < len(b); i += os.Getpagesize() {
		b[i] = 1
	}
	if err := unix.Madvise(b, unix.MADV_FREE); err != nil {
		fmt.Println("madvise:", err)
		return
	}
	fmt.Println("freed")
	bufio.NewReader(os.Stdin).ReadString('\n')
}

// smapsLazyFree sums LazyFree over every mapping of /proc/PID/smaps: the same pages as
// smaps_rollup's total, read from another file by another parser.
func smapsLazyFree(t *testing.T, pid int) uint64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sum uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb uint64
		if n, _ := fmt.Sscanf(sc.Text(), "LazyFree: %d kB", &kb); n == 1 {
			sum += kb << 10
		}
	}
	return sum
}

func TestLazyFreeMatchesAnIndependentReading(t *testing.T) {
	const mib = 16
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", lazyFreeEnv, mib))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(line) != "freed" {
		t.Fatalf("child said %q", line)
	}
	pid := cmd.Process.Pid
	// Stopped, the child changes no page; only reclaim under memory pressure can still
	// take LazyFree pages between the readings, and it only takes them away.
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Signal(syscall.SIGCONT)
	fs := realFS(t)
	var r reader
	before := smapsLazyFree(t, pid)
	sr, err := fs.smapsRollup(&r, pid)
	if err != nil {
		t.Fatal(err)
	}
	after := smapsLazyFree(t, pid)
	if sr.lazyFreeBytes == 0 || sr.lazyFreeBytes > before || sr.lazyFreeBytes < after {
		t.Errorf("LazyFree %d bytes; /proc/%d/smaps summed %d before and %d after", sr.lazyFreeBytes, pid, before, after)
	}
	if sr.lazyFreeBytes > mib<<20 || sr.lazyFreeBytes > sr.rssBytes {
		t.Errorf("LazyFree %d bytes: more than the %d MiB given back or the RSS %d", sr.lazyFreeBytes, mib, sr.rssBytes)
	}
	// The other figures against procfs's own parser of the same file.
	p, _ := procfs.NewDefaultFS()
	proc, _ := p.Proc(pid)
	want, err := proc.ProcSMapsRollup()
	if err != nil {
		t.Fatal(err)
	}
	// Stopped, the child's own pages stay put, so RSS and anonymous memory agree to the
	// byte. PSS and USS also depend on who else maps its file pages (the binary's text,
	// libc): another process mapping or dropping one between the two readings moves them,
	// by at most the file-backed part.
	fileBacked := int64(want.Rss) - int64(want.Anonymous)
	near := func(a, b uint64) bool { d := int64(a) - int64(b); return d >= -fileBacked && d <= fileBacked }
	if sr.rssBytes != want.Rss || sr.anonBytes != want.Anonymous || !near(sr.pssBytes, want.Pss) || !near(sr.ussBytes, want.PrivateClean+want.PrivateDirty) {
		t.Errorf("smaps_rollup %+v; procfs read %+v", sr, want)
	}
	cmd.Process.Signal(syscall.SIGCONT)

	s := Sampler{FS: fs, Interval: 50 * time.Millisecond, SmapsInterval: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	samples, err := s.Run(ctx, []Target{{Name: "lazy", PID: pid}})
	if err != nil {
		t.Fatal(err)
	}
	if got := (<-samples).Targets[0].Total; got.LazyFreeBytes == 0 {
		t.Errorf("the sampler recorded no LazyFree: %+v", got)
	}
}

// Under load smaps_rollup is walked LoadSmapsFactor times less often, and the load's
// end takes a fresh reading at once. The clock is the caller's: the beats are given.
func TestSmapsCadenceStretchesUnderLoadAndReadsAtItsEnd(t *testing.T) {
	s := Sampler{FS: realFS(t), Interval: time.Second, SmapsInterval: 5 * time.Second}
	g, err := s.Open([]Target{{Name: "self", PID: os.Getpid()}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for _, c := range []struct {
		at     time.Duration
		loaded bool
		read   bool
	}{
		{0, false, true},
		{2 * time.Second, true, false},
		{5 * time.Second, true, false}, // at rest, this beat would have read it
		{10 * time.Second, true, true},
		{12 * time.Second, false, true}, // the load's end
		{15 * time.Second, false, false},
		{17 * time.Second, false, true},
	} {
		g.UnderLoad(c.loaded)
		before := g.lastSmaps
		sample, _ := g.Next(t0.Add(c.at))
		if read := g.lastSmaps != before; read != c.read {
			t.Errorf("at %v (under load: %v): smaps read %v, want %v", c.at, c.loaded, read, c.read)
		}
		if sample.Targets[0].Total.PSSBytes == 0 {
			t.Errorf("at %v: no PSS carried in the sample", c.at)
		}
	}
}
