package experiment

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

func TestALeakPerCycleIsTheGrowthAndNoLeakIsNone(t *testing.T) {
	const leak = 16 << 20 // per cycle, on the first lane only
	o := shortPlan(t, "mimalloc", "mimalloc")
	o.Connections, o.Duration, o.Baseline = 5, time.Second, 500*time.Millisecond
	// mimalloc, on one server thread: glibc's RSS after idle creeps by a page or more a
	// cycle over the first several (measured at -c 5: 2816 to 2856 KiB over 8 cycles; at
	// -c 50, 20 KiB a cycle without end in 10), a growth of its own that is not the
	// leak's; mimalloc's holds after its first cycle.
	o.Threads = 1
	o.Cycles, o.Idle = 8, time.Second
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.onCycle = func(ctx context.Context, lane int, addr string) {
		if lane != 0 {
			return
		}
		resp, err := http.Get(fmt.Sprintf("http://%s/leak?bytes=%d", addr, leak))
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("/leak: %v %v", err, resp)
			return
		}
		resp.Body.Close()
	}
	rec, err := e.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	leaky, steady := rec.Targets[0].Runs[0], rec.Targets[1].Runs[0]
	lr, sr := record.RetentionOf(leaky), record.RetentionOf(steady)
	if lr == nil || sr == nil || len(lr.Cycles) != 8 || len(sr.Cycles) != 8 {
		t.Fatalf("retention: %+v %+v", lr, sr)
	}
	// The leak's rate in MiB/h: 16 MiB a cycle over the cycles' own period.
	first, last := lr.Cycles[0], lr.Cycles[len(lr.Cycles)-1]
	rate := 16 * float64(len(lr.Cycles)-1) / (last.AfterIdle - first.AfterIdle).Hours()
	if g := lr.Growth; !(g.Low <= rate && rate <= g.High) || !g.Grows() {
		t.Errorf("leaking lane: growth %s, want an interval above 0 holding the leak's %.0f MiB/h (RSS after idle: %v)", g, rate, afterIdle(lr))
	}
	if !strings.HasPrefix(lr.Verdict, "keeps growing") {
		t.Errorf("leaking lane's verdict %q, want keeps growing", lr.Verdict)
	}
	if g := sr.Growth; !(g.Low <= 0 && 0 <= g.High) {
		t.Errorf("steady lane: growth %s, want an interval holding 0 (RSS after idle: %v)", g, afterIdle(sr))
	}
	if strings.HasPrefix(sr.Verdict, "keeps growing") {
		t.Errorf("steady lane's verdict %q", sr.Verdict)
	}
	// The figures come out of the real run: per-cycle kernel peaks, LazyFree read.
	for _, c := range leaky.Cycles {
		if c.Peak == nil || c.Peak.Source != record.PeakKernel {
			t.Errorf("cycle %d's peak %+v, want the kernel's high-water mark", c.Index, c.Peak)
		}
	}
	if lr.Cycles[0].RetainedRatio == 0 {
		t.Errorf("no retained/live ratio from /stats in cycle 1: %+v", lr.Cycles[0])
	}
}

func afterIdle(r *record.Retention) []string {
	var out []string
	for _, c := range r.Cycles {
		out = append(out, fmt.Sprintf("%d KiB", c.RSSAfterIdleBytes>>10))
	}
	return out
}
