package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

// busy gives r a CPU series in which other work took otherPct of the machine under load.
func busy(r *record.Record, otherPct float64) *record.Record {
	in := &record.Interference{}
	for k := 1; k <= 3; k++ {
		in.Series = append(in.Series, record.CPUShare{T: time.Duration(k) * 500 * time.Millisecond, OtherPct: otherPct, ServersPct: 20, GeneratorsPct: 10})
	}
	r.Plan.Interval = 500 * time.Millisecond
	r.Interference = in
	in.Summarize(r)
	return r
}

func clearlyApart() *record.Record {
	return fiveRuns([]float64{500, 520, 490, 505, 515}, []float64{455, 478, 441, 463, 470},
		[]float64{30e3, 29e3, 31e3, 30e3, 30e3}, []float64{29e3, 31e3, 30e3, 31e3, 29e3})
}

func TestABusyRunIsSaidAndNotCompared(t *testing.T) {
	r := busy(clearlyApart(), 63)
	var md strings.Builder
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	refusal := "Not compared: the machine was busy with other work (63% of its CPU) during this run; rerun on a quiet machine or pass --allow-busy."
	for _, want := range []string{"> **Warning: the machine was busy with other work (63% of its CPU)** on average under load", "- " + refusal,
		"other work 63% (up to 63%)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, out)
		}
	}
	for _, claim := range []string{"jemalloc's is 0.91×", " * |", "\\* differs from"} {
		if strings.Contains(out, claim) {
			t.Errorf("a busy run's Markdown still claims %q", claim)
		}
	}
	if top, conclusion := strings.Index(out, "Warning: the machine was busy"), strings.Index(out, "### Conclusion"); top < 0 || top > strings.Index(out, "### System") || conclusion < 0 {
		t.Errorf("the warning is not above the System section")
	}

	// The same record read with --allow-busy: compared, and still said.
	record.AllowBusy(r)
	md.Reset()
	Markdown(&md, r)
	out = md.String()
	for _, want := range []string{"jemalloc's is 0.91×", "compared all the same (--allow-busy)", "Warning: the machine was busy"} {
		if !strings.Contains(out, want) {
			t.Errorf("with --allow-busy, the Markdown lacks %q", want)
		}
	}
}

func TestAQuietRunIsComparedAsBefore(t *testing.T) {
	r := busy(clearlyApart(), 5)
	out := strings.Join(Conclusions(r, record.Summarize(r)), "\n")
	if !strings.Contains(out, "jemalloc's is 0.91×") || strings.Contains(out, "busy") {
		t.Fatalf("a quiet run's conclusion:\n%s", out)
	}
}

func TestCompareRefusesABusyRecordUnlessAllowed(t *testing.T) {
	base, newer := comparePair()
	busy(base.Rec, 70)
	busy(newer.Rec, 80)
	c, err := CompareRecords(base, []Named{newer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "Not compared: the machine was busy with other work (80% of its CPU) during new.json; rerun on a quiet machine or pass --allow-busy."
	if len(c.Figures) != 0 || len(c.Refused) != 2 || c.Refused[1] != want {
		t.Fatalf("got %d figures, refused %q; want none and %q", len(c.Figures), c.Refused, want)
	}
	for _, render := range []func(*bytes.Buffer, *Compared) error{
		func(b *bytes.Buffer, c *Compared) error { return CompareText(b, c) },
		func(b *bytes.Buffer, c *Compared) error { return CompareMarkdown(b, c) },
		func(b *bytes.Buffer, c *Compared) error { return CompareJSON(b, c) },
	} {
		var b bytes.Buffer
		render(&b, c)
		if !strings.Contains(b.String(), "Not compared: the machine was busy with other work (80% of its CPU)") || strings.Contains(b.String(), "×") || strings.Contains(b.String(), `\x0a`) {
			t.Errorf("the comparison does not refuse:\n%s", b.String())
		}
	}
	base, newer = comparePair()
	busy(newer.Rec, 80)
	record.AllowBusy(newer.Rec)
	if c, _ := CompareRecords(base, []Named{newer}, nil); len(c.Figures) == 0 || len(c.Refused) != 0 {
		t.Fatalf("with --allow-busy: %d figures, refused %q", len(c.Figures), c.Refused)
	}
	busy(base.Rec, 70)
	if c, _ := CompareRecords(base, []Named{newer}, nil); len(c.Refused) != 1 {
		t.Fatalf("a busy base without --allow-busy: refused %q", c.Refused)
	}
	record.AllowBusy(base.Rec)
	if c, _ := CompareRecords(base, []Named{newer}, nil); len(c.Figures) == 0 || len(c.Refused) != 0 {
		t.Fatalf("with --allow-busy: %d figures, refused %q", len(c.Figures), c.Refused)
	}
}

// The Conclusion's CPU sentence and the Load test section's split are one figure: the
// machine's, from the interference readings, even where the lanes' own samples say more.
func TestTheConclusionsCPUIsTheLoadSectionsSplit(t *testing.T) {
	r := busy(clearlyApart(), 1)
	r.Machine.Cores = 2
	for i := range r.Targets {
		for k := range r.Targets[i].Runs {
			run := &r.Targets[i].Runs[k]
			run.Phases = record.Phases{LoadStart: 400 * time.Millisecond, LoadEnd: 1600 * time.Millisecond}
			run.Client = []record.Sample{{T: time.Second, CPUPercent: 34}, {T: 1500 * time.Millisecond, CPUPercent: 34}}
			run.Samples = append(run.Samples, record.Sample{T: time.Second, CPUPercent: 57})
		}
	}
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"servers 20%, load generators 10%", "load generators used 10% of the machine's CPU on average under load (all 2 cores = 100%), the servers 20%"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(md, "of 200%") {
		t.Errorf("a second CPU convention in the same report:\n%s", md)
	}
}
