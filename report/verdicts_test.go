package report

import (
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

// fiveRuns is a record of two lanes over five paired runs, with the given peak RSS (MiB)
// and req/s per run.
func fiveRuns(peaksA, peaksB, rpsA, rpsB []float64) *record.Record {
	r := &record.Record{Plan: record.Plan{Runs: len(peaksA)}, State: record.StateDone}
	for _, lane := range []struct {
		name       string
		peaks, rps []float64
	}{{"system", peaksA, rpsA}, {"jemalloc", peaksB, rpsB}} {
		tg := record.Target{Name: lane.name, Allocator: lane.name}
		for k := range lane.peaks {
			b := uint64(lane.peaks[k] * (1 << 20))
			tg.Runs = append(tg.Runs, record.TargetRun{
				Phases:  record.Phases{LoadStart: time.Second, LoadEnd: 2 * time.Second, CooldownEnd: 3 * time.Second},
				Samples: []record.Sample{{T: 1500 * time.Millisecond, RSSBytes: b - 1<<20}},
				Peaks:   map[record.Phase]record.PeakRSS{record.PhaseLoad: {Bytes: b, Source: record.PeakKernel}},
				Result:  &record.LoadResult{Requests: 1000, ReqPerSec: lane.rps[k], P99: time.Millisecond},
			})
		}
		r.Targets = append(r.Targets, tg)
	}
	return r
}

func TestConclusionNamesClearlySeparatedLanes(t *testing.T) {
	r := fiveRuns([]float64{500, 520, 490, 505, 515}, []float64{455, 478, 441, 463, 470},
		[]float64{30e3, 29e3, 31e3, 30e3, 30e3}, []float64{29e3, 31e3, 30e3, 31e3, 29e3})
	var md strings.Builder
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{
		"Peak RSS: jemalloc's is 0.91× system's (0.90–0.92; lower in 5 of 5 runs).",
		"Throughput: no clear difference from system's",
		"| jemalloc | n/a | 463.0 MiB ± 18.5 MiB * |",
		"\\* differs from system: a paired t-test on the log ratios of 5 runs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, out[strings.Index(out, "## Summary"):])
		}
	}
}

func TestConclusionDoesNotNameOverlappingLanes(t *testing.T) {
	// Medians apart, but the order changes from run to run: the p99 case.
	r := fiveRuns([]float64{214, 262, 170, 230, 190}, []float64{243, 196, 290, 200, 250},
		[]float64{32.6e3, 29e3, 35e3, 30e3, 34e3}, []float64{29.3e3, 33e3, 27e3, 31e3, 28e3})
	lines := Conclusions(r, record.Summarize(r))
	joined := strings.Join(lines, "\n")
	if strings.Contains(joined, "'s is ") || strings.Contains(joined, "lowest") || strings.Contains(joined, "highest") {
		t.Fatalf("overlapping lanes were named:\n%s", joined)
	}
	for _, want := range []string{"Peak RSS: no clear difference from system's", "Throughput: no clear difference from system's"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("conclusion lacks %q:\n%s", want, joined)
		}
	}
}

func TestOneRunIsWordedAsWhatItShowed(t *testing.T) {
	r := fiveRuns([]float64{500}, []float64{455}, []float64{30e3}, []float64{31e3})
	joined := strings.Join(Conclusions(r, record.Summarize(r)), "\n")
	for _, want := range []string{"In this run, jemalloc had the lowest peak RSS (455.0 MiB)", "One run cannot tell these differences from noise: run with --runs 3 or more"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("conclusion lacks %q:\n%s", want, joined)
		}
	}
}

func TestCrashedLaneIsNeverCompared(t *testing.T) {
	r := fiveRuns([]float64{500}, []float64{8.5}, []float64{30e3}, []float64{3e3})
	r.Targets[1].Runs[0].Exit = &record.Exit{T: 2900 * time.Millisecond, Signal: "SIGKILL"}
	joined := strings.Join(Conclusions(r, record.Summarize(r)), "\n")
	if strings.Contains(joined, "lowest") || strings.Contains(joined, "highest") {
		t.Fatalf("a crashed lane was compared:\n%s", joined)
	}
	if !strings.Contains(joined, "jemalloc was killed by SIGKILL during the run; the other targets went on, and it is left out of the comparisons.") {
		t.Fatalf("the crash is not said:\n%s", joined)
	}
}

func TestOneElementCommandDoesNotPanic(t *testing.T) {
	r := fiveRuns([]float64{500}, []float64{455}, []float64{30e3}, []float64{31e3})
	r.Targets[0].Command = []string{"nginx"}
	var md strings.Builder
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "```bash\nnginx\n```") {
		t.Fatal("the one-word command is not shown")
	}
}

func TestNoControlCharacterReachesAnyRendering(t *testing.T) {
	r := fiveRuns([]float64{500}, []float64{455}, []float64{30e3}, []float64{31e3})
	r.Targets[0].Name = "evil\x1b]0;PWNED\x07\x1b[2J|<b>"
	r.Events = []record.Event{{Kind: "crash", Message: "output \x1b]52;c;aGk=\x07 \u009b31m"}}
	r.Plan.Path = "/\x1b[1A"
	for _, format := range Formats {
		var b strings.Builder
		if err := Write(&b, r, format); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if format == "json" || format == "png" {
			continue // JSON escapes them itself, and keeps the record as it was; a PNG is pixels
		}
		if strings.ContainsAny(out, "\x1b\x07\u009b") {
			t.Fatalf("%s output holds a control character", format)
		}
	}
	var md strings.Builder
	Markdown(&md, r)
	if !strings.Contains(md.String(), `| evil\x1b]0;PWNED\x07\x1b[2J\|&lt;b&gt; |`) {
		t.Fatalf("the name is not escaped in the summary table:\n%s", md.String())
	}
}

func TestRecordLeftRunningSaysItStoppedWithoutFinishing(t *testing.T) {
	r := fiveRuns([]float64{500}, []float64{455}, []float64{30e3}, []float64{31e3})
	r.State = record.StateRunning
	var md strings.Builder
	Markdown(&md, r)
	if !strings.Contains(md.String(), "it stopped without finishing") {
		t.Fatalf("a record left running does not say so:\n%s", md.String()[:400])
	}
}
