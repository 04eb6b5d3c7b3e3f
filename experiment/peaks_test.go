package experiment

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/servers"
)

func startBuiltin(t *testing.T, allocator string) *servers.Process {
	t.Helper()
	a, err := servers.LookupAllocator(allocator)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := servers.NewBuilder().Build(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	p, err := servers.Start(context.Background(), servers.ServerSpec(allocator, bin.Path, "127.0.0.1", 2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(servers.DefaultStopGrace) })
	return p
}

func get(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
}

// A block held for 50 ms between two samples is invisible to sampling; the phase's peak
// must still hold it, and the next phase, reset, must not.
func TestPhasePeakHoldsWhatTheSamplesMissedAndResetsForTheNextPhase(t *testing.T) {
	p := startBuiltin(t, "system")
	fs, err := probe.NewFS(probe.DefaultRoot)
	if err != nil {
		t.Fatal(err)
	}
	rss := func() uint64 {
		pr, err := fs.ReadProcess(p.PID, 0)
		if err != nil {
			t.Fatal(err)
		}
		return pr.RSSBytes
	}
	m := newPeakMeter(fs, p.PID, false)
	m.begin(record.PhaseLoad, 0)
	sampled := rss()
	const held = 64 << 20
	get(t, "http://"+p.Addr+"/hold?bytes=64MiB&ms=50")
	// Released after 50 ms, later on a busy machine: glibc unmaps a block this large at once.
	for deadline := time.Now().Add(time.Minute); rss() > held && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	sampled = max(sampled, rss())
	if sampled > held {
		t.Fatalf("a sample saw the held block (%d bytes): the test cannot tell peaks from samples", sampled)
	}
	phase, load := m.end(sampled)
	hwm, err := fs.PeakRSS(p.PID)
	if err != nil {
		t.Fatal(err)
	}
	if phase != record.PhaseLoad || load.Source != record.PeakKernel || load.Bytes != hwm || load.Bytes < held {
		t.Fatalf("load peak %+v (phase %q), VmHWM %d: want the kernel's peak, at least the %d bytes held", load, phase, hwm, held)
	}
	m.begin(record.PhaseCooldown, time.Second)
	time.Sleep(100 * time.Millisecond)
	_, cool := m.end(rss())
	if cool.Source != record.PeakKernel || cool.Bytes >= load.Bytes-held/2 {
		t.Fatalf("cooldown peak %d after the block was freed, load peak %d: the reset did not take", cool.Bytes, load.Bytes)
	}
}

// rssFuzz is how far apart two readings of the kernel's RSS counters of one moment may
// be. proc.rst says of VmRSS and its kin "some of these values are inaccurate because of
// a scalable RSS counter implementation"; since 6.2 they are percpu_counters
// (mm: convert mm's rss stats into percpu_counter), whose reads may miss up to the batch
// (max(32, 2·CPUs) pages, lib/percpu_counter.c) on each CPU, and VmHWM's high-water mark
// is taken from such a read. Seen here: a load peak 28 KiB and 180 KiB under a sample.
func rssFuzz() uint64 {
	cpus := uint64(runtime.NumCPU())
	return cpus * max(32, 2*cpus) * uint64(os.Getpagesize())
}

func TestLargeRunReportsKernelPeaksPerPhase(t *testing.T) {
	o := shortPlan(t, "system", "jemalloc")
	o.Scenario, o.Connections = "large", 4
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	sums := record.Summarize(rec)
	for i, tg := range rec.Targets {
		run := tg.Runs[0]
		for _, phase := range []record.Phase{record.PhaseBaseline, record.PhaseLoad, record.PhaseCooldown} {
			if p, ok := run.Peaks[phase]; !ok || p.Source != record.PeakKernel || p.UpperBound {
				t.Fatalf("%s: %s peak %+v, want one from the kernel", tg.Name, phase, p)
			}
		}
		load := run.Peaks[record.PhaseLoad].Bytes
		if sampled := sampledPeak(run.Samples, run.Phases.LoadStart, run.Phases.LoadEnd); load+rssFuzz() < sampled {
			t.Fatalf("%s: load peak %d below the sampled maximum %d by more than the counters' %d KiB of fuzz", tg.Name, load, sampled, rssFuzz()>>10)
		}
		if base := run.Peaks[record.PhaseBaseline].Bytes; base*4 > load {
			t.Fatalf("%s: baseline peak %d not far below the load peak %d: the reset at load start did not take", tg.Name, base, load)
		}
		// Requests still in flight when the load ends may push the cooldown's peak higher.
		var highest uint64
		for _, p := range run.Peaks {
			highest = max(highest, p.Bytes)
		}
		if got := uint64(sums[i].PeakRSS.Median); got != highest || sums[i].PeakSource != record.PeakKernel {
			t.Fatalf("%s: summary peak %d (%s), want the highest phase's kernel peak %d", tg.Name, got, sums[i].PeakSource, highest)
		}
	}
	var md bytes.Buffer
	if err := report.Markdown(&md, rec); err != nil {
		t.Fatal(err)
	}
	if want := report.MiB(record.Summarize(rec)[0].PeakRSS.Median); !strings.Contains(md.String(), "| "+want+" |") {
		t.Fatalf("the Markdown summary does not show the kernel peak %s", want)
	}
}

// The A/A test: two lanes of the same build, several runs. Whatever the machine's noise,
// the conclusion must not call a difference between them.
func TestAARunNamesNoDifference(t *testing.T) {
	o := shortPlan(t, "system", "system")
	o.Runs = 3
	// The statistics must hold on a busy machine too, which would otherwise (rightly)
	// refuse to compare at all.
	o.AllowBusy = true
	// A machine busy enough can starve a lane's load of every answer in one run (seen
	// under -race beside other work: 0 requests in 2 s); that lane is then rightly left
	// out, and the A/A question is not asked. Run again until every load was answered.
	var rec *record.Record
	for attempt := 1; ; attempt++ {
		var err error
		if rec, err = runPlan(t, context.Background(), o, nil); err != nil {
			t.Fatal(err)
		}
		if !anyDeadLoad(rec) {
			break
		}
		if attempt == 3 {
			t.Fatalf("in 3 attempts some load got no answer at all: the machine is too busy to run this test")
		}
		t.Logf("attempt %d: a load got no answer; running again", attempt)
	}
	if rec.Targets[0].Name != "system#1" || rec.Targets[1].Name != "system#2" {
		t.Fatalf("lanes %q and %q, want system#1 and system#2", rec.Targets[0].Name, rec.Targets[1].Name)
	}
	lines := report.Conclusions(rec, record.Summarize(rec))
	for _, line := range lines {
		if strings.Contains(line, "'s is ") {
			t.Errorf("A/A conclusion calls a difference: %s", line)
		}
	}
	if !strings.Contains(strings.Join(lines, "\n"), "Peak RSS: no clear difference from system#1's") {
		t.Fatalf("conclusion does not say peak RSS shows no clear difference:\n%s", strings.Join(lines, "\n"))
	}
}

func TestKilledLoadWorkerIsAnEventAndLeftOutOfTheComparison(t *testing.T) {
	o := shortPlan(t, "system", "jemalloc")
	o.Duration = 4 * time.Second
	killed := make(chan int, 1)
	rec, err := runPlan(t, context.Background(), o, func(e *Experiment) {
		for {
			e.mu.Lock()
			var pid int
			if e.now != nil && len(e.now.loads) == 2 {
				pid = e.now.loads[1].load.PID()
			}
			e.mu.Unlock()
			if pid != 0 {
				time.Sleep(time.Second)
				syscall.Kill(pid, syscall.SIGKILL)
				killed <- pid
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	<-killed
	var dead *record.TargetRun
	var deadName string
	for i := range rec.Targets {
		if r := &rec.Targets[i].Runs[0]; r.LoadError != "" {
			dead, deadName = r, rec.Targets[i].Name
		}
	}
	if dead == nil || dead.Result != nil || !strings.Contains(dead.LoadError, "killed") {
		t.Fatalf("no lane records its load worker's death: %+v", rec.Targets)
	}
	found := false
	for _, ev := range rec.Events {
		found = found || (ev.Kind == "load-died" && ev.Target == deadName)
	}
	if !found {
		t.Fatalf("no load-died event among %+v", rec.Events)
	}
	joined := strings.Join(report.Conclusions(rec, record.Summarize(rec)), "\n")
	if strings.Contains(joined, "had the lowest") || !strings.Contains(joined, "The load against "+deadName+" ended without a result") {
		t.Fatalf("conclusion:\n%s", joined)
	}
}

// A full disk: the run goes on, says at once that its record is not being kept, and
// never ends claiming a save that did not happen.
func TestFullDiskIsSaidAtOnceAndTheRunIsNotClaimedSaved(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=512k"); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v): the full-disk test needs root", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	o := shortPlan(t, "system")
	o.SavePath = dir + "/run.json"
	o.Duration = 4 * time.Second
	rec, err := runPlan(t, context.Background(), o, func(e *Experiment) {
		time.Sleep(500 * time.Millisecond)
		// Fill the file system: the next autosave cannot write its temp file.
		filler := make([]byte, 1<<20)
		f, _ := os.Create(dir + "/filler")
		f.Write(filler)
		f.Close()
	})
	if err == nil || !strings.Contains(err.Error(), "could not be saved") {
		t.Fatalf("the run ended with %v, want it to say its record could not be saved", err)
	}
	warned := false
	for _, ev := range rec.Events {
		warned = warned || (ev.Kind == "warning" && strings.Contains(ev.Message, "autosave to "+o.SavePath+" failed"))
	}
	if !warned {
		t.Fatalf("no autosave warning among %+v", rec.Events)
	}
}

// Where the kernel refuses the reset (another user's process), the peak is VmHWM since the
// process started, which counts only for a phase that holds a new lifetime peak.
func TestRefusedResetFallsBackToLifetimePeakOrSamples(t *testing.T) {
	p := startBuiltin(t, "system")
	fs, err := probe.NewFS(probe.DefaultRoot)
	if err != nil {
		t.Fatal(err)
	}
	m := newPeakMeter(fs, p.PID, false)
	m.resetRefused = true // as for another user's process
	m.begin(record.PhaseLoad, 0)
	get(t, "http://"+p.Addr+"/hold?bytes=64MiB&ms=50")
	time.Sleep(300 * time.Millisecond)
	_, load := m.end(1 << 20)
	if load.Source != record.PeakKernelSinceStart || load.Bytes < 64<<20 {
		t.Fatalf("load peak %+v: want the lifetime VmHWM, with the 64 MiB held", load)
	}
	m.begin(record.PhaseCooldown, time.Second)
	_, cool := m.end(3 << 20)
	if cool.Source != record.PeakSampled || cool.Bytes != 3<<20 {
		t.Fatalf("cooldown peak %+v: the lifetime peak belongs to the load, so only the samples speak for the cooldown", cool)
	}
	var md bytes.Buffer
	rec := &record.Record{State: record.StateDone, Targets: []record.Target{{Name: "other-user", Runs: []record.TargetRun{{Peaks: map[record.Phase]record.PeakRSS{record.PhaseLoad: load, record.PhaseCooldown: cool}}}}}}
	if err := report.Markdown(&md, rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "For other-user the kernel refused the reset") {
		t.Fatalf("the Markdown does not say the reset was refused:\n%s", md.String())
	}
}

func TestWatchReportsAnExactPeak(t *testing.T) {
	p := startBuiltin(t, "system")
	// StartWatch resets the peak before it returns; the hold must fall inside the watch,
	// which a busy machine can delay by seconds.
	w, err := StartWatch(context.Background(), WatchOptions{PIDs: []int{p.PID}, Interval: time.Second, Duration: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	get(t, "http://"+p.Addr+"/hold?bytes=64MiB&ms=50")
	<-w.Done()
	rec := w.Snapshot()
	peak, ok := rec.Targets[0].Runs[0].Peaks[PhaseWatch]
	if !ok || peak.Source != record.PeakKernel || peak.Bytes < 64<<20 {
		t.Fatalf("watch peak %+v: want the kernel's, holding the 64 MiB that the samples missed", peak)
	}
	if got := record.Summarize(rec)[0].PeakRSS.Median; got < 64<<20 {
		t.Fatalf("summary peak %.0f, want the exact one", got)
	}
}

func anyDeadLoad(r *record.Record) bool {
	for _, tg := range r.Targets {
		for _, run := range tg.Runs {
			if report.DeadLoad(run) {
				return true
			}
		}
	}
	return false
}
