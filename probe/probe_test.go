package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a child that holds a known amount of touched memory.
func TestMain(m *testing.M) {
	if mib, err := strconv.Atoi(os.Getenv(lazyFreeEnv)); err == nil {
		lazyFree(mib)
		return
	}
	if mib := os.Getenv("PROBE_TEST_HOLD_MIB"); mib != "" {
		hold(mib)
		return
	}
	os.Exit(m.Run())
}

var held []byte

func hold(mib string) {
	n, _ := strconv.Atoi(mib)
	fmt.Println("idle")
	in := bufio.NewReader(os.Stdin)
	in.ReadString('\n')
	held = make([]byte, n<<20)
	for i := 0; i < len(held); i += 4096 {
		held[i] = 1
	}
	fmt.Println("held")
	in.ReadString('\n')
}

type child struct {
	cmd   *exec.Cmd
	stdin interface{ Write([]byte) (int, error) }
	out   *bufio.Reader
}

func startHolder(t *testing.T, mib int) *child {
	t.Helper()
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("PROBE_TEST_HOLD_MIB=%d", mib), "GOGC=off")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	c.expect(t, "idle")
	return c
}

func (c *child) expect(t *testing.T, word string) {
	t.Helper()
	line, err := c.out.ReadString('\n')
	if strings.TrimSpace(line) != word {
		t.Fatalf("child said %q (%v), want %q", line, err, word)
	}
}

func realFS(t testing.TB) FS {
	fs, err := NewFS(DefaultRoot)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestFixtureFieldsAndUnits(t *testing.T) {
	fs, err := NewFS("testdata/proc")
	if err != nil {
		t.Fatal(err)
	}
	p, err := fs.ReadProcess(42, 0)
	if err != nil {
		t.Fatal(err)
	}
	page := uint64(os.Getpagesize())
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"RSSBytes", p.RSSBytes, 44727 * page},
		{"VSZBytes", p.VSZBytes, 397364 * page},
		{"PeakRSSBytes", p.PeakRSSBytes, 190672 << 10},
		{"AnonBytes", p.AnonBytes, 170000 << 10},
		{"FileBytes", p.FileBytes, 8000 << 10},
		{"ShmemBytes", p.ShmemBytes, 908 << 10},
		{"MinorFaults", p.MinorFaults, 1234},
		{"MajorFaults", p.MajorFaults, 5},
		{"CPUTime ms", uint64(p.CPUTime / time.Millisecond), 3000},
		{"StartTicks", p.StartTicks, 98765},
		{"Threads", uint64(p.Threads), 3},
		{"FDs", uint64(p.FDs), 3},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if p.Comm != "my (odd) name" {
		t.Errorf("Comm = %q: the name ends at the last ')'", p.Comm)
	}
	var r reader
	sr, err := fs.smapsRollup(&r, 42)
	if err != nil || sr.pssBytes != 175000<<10 || sr.ussBytes != (5000+170908)<<10 || sr.rssBytes != 178908<<10 ||
		sr.anonBytes != 170000<<10 || sr.lazyFreeBytes != 2048<<10 {
		t.Errorf("smaps_rollup = %+v (%v)", sr, err)
	}
}

func TestFixtureExitedReusedAndMissing(t *testing.T) {
	fs, _ := NewFS("testdata/proc")
	if _, err := fs.ReadProcess(43, 0); !errors.Is(err, ErrExited) {
		t.Errorf("zombie: got %v, want ErrExited", err)
	}
	if _, err := fs.ReadProcess(42, 12345); !errors.Is(err, ErrExited) {
		t.Errorf("PID with another start time: got %v, want ErrExited (reused PID)", err)
	}
	if _, err := fs.ReadProcess(44, 0); !errors.Is(err, ErrExited) {
		t.Errorf("missing PID: got %v, want ErrExited", err)
	}
	if err := fs.Check(44); err == nil || !strings.Contains(err.Error(), "no process with PID 44") {
		t.Errorf("Check(44) = %v", err)
	}
	if err := fs.Check(-3); err == nil {
		t.Error("Check(-3) accepted a negative PID")
	}
	if d, _ := fs.Descendants(1); len(d) != 2 || d[0] != 42 || d[1] != 43 {
		t.Errorf("Descendants(1) = %v, want [42 43]", d)
	}
}

func TestParsersRejectGarbage(t *testing.T) {
	for _, in := range []string{"", "12", "12 (x", "12 x) S", "1 (a) S 2"} {
		if _, err := parseStat([]byte(in)); err == nil {
			t.Errorf("parseStat(%q) accepted it", in)
		}
	}
	for _, in := range []string{"", "12", "abc def"} {
		if _, err := parseStatm([]byte(in)); err == nil {
			t.Errorf("parseStatm(%q) accepted it", in)
		}
	}
}

func TestTouchedMemoryShowsAsRSS(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race the holder's shadow memory doubles what it touches; the test runs without -race")
	}
	const mib = 128
	c := startHolder(t, mib)
	fs := realFS(t)
	before, err := fs.ReadProcess(c.cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.stdin.Write([]byte("go\n"))
	c.expect(t, "held")
	after, err := fs.ReadProcess(c.cmd.Process.Pid, before.StartTicks)
	if err != nil {
		t.Fatal(err)
	}
	grew := float64(after.RSSBytes) - float64(before.RSSBytes)
	if want := float64(mib << 20); grew < want*0.97 || grew > want*1.05 {
		t.Fatalf("RSS grew by %.1f MiB after touching %d MiB", grew/(1<<20), mib)
	}
	if after.AnonBytes-before.AnonBytes < mib<<20*97/100 {
		t.Fatalf("RssAnon grew by %d bytes, want about %d", after.AnonBytes-before.AnonBytes, mib<<20)
	}
	if after.PeakRSSBytes < after.RSSBytes {
		t.Fatalf("peak RSS %d below RSS %d", after.PeakRSSBytes, after.RSSBytes)
	}
}

func TestAgreesWithPs(t *testing.T) {
	c := startHolder(t, 16)
	c.stdin.Write([]byte("go\n"))
	c.expect(t, "held")
	pid := c.cmd.Process.Pid
	out, err := exec.Command("ps", "-o", "rss=,vsz=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	p, err := realFS(t).ReadProcess(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	var rssKiB, vszKiB uint64
	fmt.Sscan(string(out), &rssKiB, &vszKiB)
	// The holder is idle, so both readings see the same pages; allow a few for ps's own timing.
	if diff := int64(p.RSSBytes>>10) - int64(rssKiB); diff < -64 || diff > 64 {
		t.Errorf("RSS %d KiB, ps says %d KiB", p.RSSBytes>>10, rssKiB)
	}
	if p.VSZBytes>>10 != vszKiB {
		t.Errorf("VSZ %d KiB, ps says %d KiB", p.VSZBytes>>10, vszKiB)
	}
}

func TestSamplerGoesOnWhenOneTargetExits(t *testing.T) {
	a := startHolder(t, 1)
	b := startHolder(t, 1)
	s := Sampler{FS: realFS(t), Interval: 50 * time.Millisecond, SmapsInterval: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	samples, err := s.Run(ctx, []Target{{Name: "a", PID: a.cmd.Process.Pid}, {Name: "b", PID: b.cmd.Process.Pid}})
	if err != nil {
		t.Fatal(err)
	}
	first := <-samples
	if len(first.Targets) != 2 || first.Targets[0].Total.RSSBytes == 0 || first.Targets[1].Total.PSSBytes == 0 {
		t.Fatalf("first sample: %+v", first)
	}
	a.cmd.Process.Kill()
	a.cmd.Wait()
	var sawExit bool
	var after int
	for sample := range samples {
		for _, ts := range sample.Targets {
			switch {
			case ts.Name == "a" && ts.Exited:
				if sawExit {
					t.Fatal("exit reported twice")
				}
				sawExit = true
			case ts.Name == "a":
				if sawExit {
					t.Fatal("a sampled after its exit")
				}
			case ts.Name == "b" && sawExit:
				after++
			}
		}
		if after >= 3 {
			break
		}
	}
	if !sawExit || after < 3 {
		t.Fatalf("exit seen %v, samples of b after it %d", sawExit, after)
	}
}

func TestSamplerRefusesUnreadablePID(t *testing.T) {
	s := Sampler{FS: realFS(t), Interval: time.Second}
	if _, err := s.Run(context.Background(), []Target{{Name: "x", PID: 1 << 30}}); err == nil || !strings.Contains(err.Error(), "no process") {
		t.Fatalf("got %v", err)
	}
}

func TestTreeSumsDescendants(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 30 & sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		exec.Command("pkill", "-P", strconv.Itoa(cmd.Process.Pid)).Run()
		cmd.Process.Kill()
		cmd.Wait()
	}()
	fs := realFS(t)
	deadline := time.Now().Add(time.Minute)
	for d, _ := fs.Descendants(cmd.Process.Pid); len(d) < 2 && time.Now().Before(deadline); d, _ = fs.Descendants(cmd.Process.Pid) {
		time.Sleep(10 * time.Millisecond)
	}
	s := Sampler{FS: fs, Interval: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	samples, err := s.Run(ctx, []Target{{Name: "tree", PID: cmd.Process.Pid, Tree: true}})
	if err != nil {
		t.Fatal(err)
	}
	ts := (<-samples).Targets[0]
	if len(ts.Members) != 3 {
		t.Fatalf("tree has %d members, want sh and two sleeps", len(ts.Members))
	}
	var sum uint64
	for _, m := range ts.Members {
		sum += m.RSSBytes
	}
	if ts.Total.RSSBytes != sum || ts.Total.Threads != 3 {
		t.Fatalf("total RSS %d, threads %d; members sum to %d", ts.Total.RSSBytes, ts.Total.Threads, sum)
	}
}
