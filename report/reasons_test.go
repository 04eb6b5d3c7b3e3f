package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

// heldBack is a record of four lanes over eight runs whose peak RSS ratios to system's each
// exclude 1 at 95% and are not called, each for another reason.
func heldBack() *record.Record {
	base := []float64{400, 410, 395, 405, 402, 398, 407, 401}
	lanes := []struct {
		name  string
		ratio []float64
	}{
		{"system", []float64{1, 1, 1, 1, 1, 1, 1, 1}},
		// Seven runs 4% lower, one a hair higher.
		{"jemalloc", []float64{0.96, 0.961, 0.959, 0.96, 0.962, 0.958, 0.96, 1.001}},
		// 0.5% lower in every run, without spread.
		{"mimalloc", []float64{0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995}},
		// Lower in every run, but not surely enough for one of nine comparisons.
		{"tcmalloc", []float64{0.97, 0.99, 0.95, 0.985, 0.96, 0.995, 0.94, 0.99}},
	}
	r := &record.Record{Plan: record.Plan{Runs: len(base)}, State: record.StateDone}
	for _, l := range lanes {
		tg := record.Target{Name: l.name, Allocator: l.name}
		for k, mib := range base {
			b := uint64(mib * l.ratio[k] * (1 << 20))
			tg.Runs = append(tg.Runs, record.TargetRun{
				Phases: record.Phases{LoadStart: time.Second, LoadEnd: 2 * time.Second, CooldownEnd: 3 * time.Second},
				Peaks:  map[record.Phase]record.PeakRSS{record.PhaseLoad: {Bytes: b, Source: record.PeakKernel}},
				Result: &record.LoadResult{Requests: 30000, ReqPerSec: 30e3, P99: time.Millisecond},
			})
		}
		r.Targets = append(r.Targets, tg)
	}
	return r
}

func TestTheConclusionSaysWhyAnIntervalThatExcludesOneWasNotCalled(t *testing.T) {
	r := heldBack()
	got := Conclusions(r, record.Summarize(r))
	want := "Peak RSS: no clear difference from system's (jemalloc 0.97×, 0.95–0.98, but not every run went the same way: 7 of 8; " +
		"mimalloc 0.99×, 0.99–0.99, but under the 1% minimum; tcmalloc 0.97×, 0.96–0.99, but p = 0.052 after Holm over 9 comparisons needs < 0.01)."
	if len(got) == 0 || got[0] != want {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
}

func TestASingleRunHasNoInterval(t *testing.T) {
	r := heldBack()
	for k := 1; k < len(r.Targets[1].Runs); k++ {
		r.Targets[1].Runs[k].Peaks = nil // jemalloc's peak RSS measured in its first run only
	}
	got := strings.Join(Conclusions(r, record.Summarize(r)), "\n")
	if strings.Contains(got, "0.00–0.00") || !strings.Contains(got, "jemalloc 0.96× in 1 run") {
		t.Fatalf("a comparison of one run:\n%s", got)
	}
}

func TestCompareSaysWhyAnIntervalThatExcludesOneWasNotCalled(t *testing.T) {
	one := func(mib ...float64) *record.Record {
		r := &record.Record{Plan: record.Plan{Runs: len(mib)}, State: record.StateDone}
		tg := record.Target{Name: "system"}
		for _, m := range mib {
			tg.Runs = append(tg.Runs, record.TargetRun{
				Phases: record.Phases{LoadStart: time.Second, LoadEnd: 2 * time.Second, CooldownEnd: 3 * time.Second},
				Peaks:  map[record.Phase]record.PeakRSS{record.PhaseLoad: {Bytes: uint64(m * (1 << 20)), Source: record.PeakKernel}},
			})
		}
		r.Targets = append(r.Targets, tg)
		return r
	}
	c, err := CompareRecords(Named{Name: "base.json", Rec: one(400, 400, 400, 400, 400, 400, 400, 400)},
		[]Named{{Name: "new.json", Rec: one(384, 384, 384, 384, 384, 384, 384, 401)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	if err := CompareText(&text, c); err != nil {
		t.Fatal(err)
	}
	if want := "~ system in new.json: 0.97× (0.95–0.98), but not every run went the same way: 7 of 8"; !strings.Contains(text.String(), want) {
		t.Errorf("compare's text lacks %q:\n%s", want, text.String())
	}
	if err := CompareJSON(&js, c); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Rows []struct{ Reason, Why string }
	}
	if err := json.Unmarshal(js.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Rows) != 1 || out.Rows[0].Reason != "not-unanimous" || out.Rows[0].Why != "not every run went the same way: 7 of 8" {
		t.Errorf("compare's JSON: %s", js.String())
	}
}

// A count of errors alone sends the reader to the record; their kinds say whether the
// server refused the requests (405s) or the connections failed.
func TestTheConclusionSaysWhichErrors(t *testing.T) {
	r := heldBack()
	for k := range r.Targets[0].Runs {
		r.Targets[0].Runs[k].Result.Errors = map[string]uint64{"non2xx": 10557, "timeout": uint64(k), "connect": 0}
	}
	got := strings.Join(Conclusions(r, record.Summarize(r)), "\n")
	if want := "system saw 10561 errors: 10557 non-2xx responses, 4 timeouts."; !strings.Contains(got, want) {
		t.Fatalf("no %q in\n%s", want, got)
	}
}
