package report

import (
	"bytes"
	"testing"

	"github.com/allocscope/allocscope/record"
)

func comparePair() (Named, Named) {
	base := fiveRuns([]float64{500, 520, 490, 505, 515}, []float64{455, 478, 441, 463, 470},
		[]float64{30e3, 29e3, 31e3, 30e3, 30e3}, []float64{29e3, 31e3, 30e3, 31e3, 29e3})
	newer := fiveRuns([]float64{560, 585, 548, 566, 579}, []float64{452, 480, 444, 460, 468},
		[]float64{30.5e3, 28.5e3, 31e3, 29.5e3, 30e3}, []float64{26e3, 26.5e3, 26e3, 26.5e3, 26.2e3})
	newer.Machine.THP = "always"
	base.Machine.THP = "madvise"
	return Named{Name: "base.json", Rec: base}, Named{Name: "new.json", Rec: newer}
}

func TestCompareGoldens(t *testing.T) {
	base, newer := comparePair()
	c, err := CompareRecords(base, []Named{newer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name   string
		render func(*bytes.Buffer, *Compared) error
	}{
		{"compare.md", func(b *bytes.Buffer, c *Compared) error { return CompareMarkdown(b, c) }},
		{"compare.json", func(b *bytes.Buffer, c *Compared) error { return CompareJSON(b, c) }},
		{"compare.txt", func(b *bytes.Buffer, c *Compared) error { return CompareText(b, c) }},
	} {
		var b bytes.Buffer
		if err := f.render(&b, c); err != nil {
			t.Fatal(err)
		}
		golden(t, f.name, b.Bytes())
	}
	// What the goldens must say, whatever their layout.
	called := map[string]bool{}
	for _, r := range c.Figures {
		if r.C.Significant {
			called[r.Lane+" "+r.Metric.Key] = true
		}
	}
	if !called["system peak_rss"] || !called["jemalloc rps"] || called["jemalloc peak_rss"] || called["system rps"] {
		t.Fatalf("called %v: want system's peak RSS and jemalloc's req/s, not the others", called)
	}
	if len(c.Differences) != 1 {
		t.Fatalf("differences %v, want the THP mode alone", c.Differences)
	}
}

func TestCompareRefusesLanesThatMatchNothing(t *testing.T) {
	base, newer := comparePair()
	newer.Rec.Targets[0].Name, newer.Rec.Targets[1].Name = "a", "b"
	if _, err := CompareRecords(base, []Named{newer}, nil); err == nil {
		t.Fatal("records with no lane in common were compared")
	}
	c, err := CompareRecords(base, []Named{newer}, map[string]string{"system": "a", "jemalloc": "b"})
	if err != nil || len(c.Figures) == 0 {
		t.Fatalf("--match did not pair the lanes: %v", err)
	}
	if _, err := CompareRecords(base, []Named{newer}, map[string]string{"nope": "a"}); err == nil {
		t.Fatal("--match of a lane the base lacks was accepted")
	}
}

// sweepOf makes a two-step sweep record of one lane whose peak RSS is peaks[step] per run.
func sweepOf(peaks [2][]float64) *record.Record {
	r := &record.Record{State: record.StateDone, Plan: record.Plan{Runs: len(peaks[0]), Sweep: &record.Sweep{Parameter: record.SweepThreads, Values: []string{"2", "16"}}}}
	tg := record.Target{Name: "system"}
	for step, ps := range peaks {
		for _, mib := range ps {
			tg.Runs = append(tg.Runs, record.TargetRun{Step: step, Peaks: map[record.Phase]record.PeakRSS{record.PhaseLoad: {Bytes: uint64(mib * (1 << 20)), Source: record.PeakKernel}}})
		}
	}
	r.Targets = []record.Target{tg}
	return r
}

func TestCompareOfSweepsIsValueByValue(t *testing.T) {
	base := sweepOf([2][]float64{{100, 101, 99}, {190, 192, 188}})
	newer := sweepOf([2][]float64{{100, 99, 101}, {150, 152, 149}})
	c, err := CompareRecords(Named{Name: "a.json", Rec: base}, []Named{{Name: "b.json", Rec: newer}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range c.Figures {
		if r.Metric.Key == record.MetricPeakRSS.Key {
			got[r.Lane] = r.C.Significant
		}
	}
	if len(got) != 2 || got["system threads=2"] || !got["system threads=16"] {
		t.Fatalf("peak RSS calls %v: want threads=16 called and threads=2 not", got)
	}
}
