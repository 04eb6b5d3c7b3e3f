package report

import (
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

func TestMarkdownSaysTheLoadWasPausedAndFlagsThroughput(t *testing.T) {
	r := fiveRuns([]float64{500}, []float64{455}, []float64{30e3}, []float64{31e3})
	r.Events = []record.Event{
		{T: 1200 * time.Millisecond, Kind: "pause", Message: "load paused by the user"},
		{T: 1500 * time.Millisecond, Kind: "resume", Message: "load resumed by the user"},
		{T: 1800 * time.Millisecond, Kind: "pause", Message: "load paused by the user"},
		// never resumed: the pause lasts until the load ends, at 2 s
	}
	var md strings.Builder
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"**The load was paused** by the user for 0.5 s in all (1.2 s to 1.5 s, 1.8 s to 2.0 s, of a 1.0 s load)",
		"- The load was paused for 0.5 s of its 1.0 s: the req/s figures count the paused time",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the Markdown does not say %q:\n%s", want, md.String())
		}
	}
	r.Events = nil
	md.Reset()
	Markdown(&md, r)
	if strings.Contains(md.String(), "paused") {
		t.Fatal("a run never paused is said to be")
	}
}

func TestACrashIsASentenceAndNoOneWentOnWhenAllDied(t *testing.T) {
	r := fiveRuns([]float64{500}, []float64{455}, []float64{30e3}, []float64{31e3})
	r.Targets[0].Runs[0].Exit = &record.Exit{T: 1500 * time.Millisecond, Signal: "SIGABRT"}
	var md strings.Builder
	Markdown(&md, r)
	for _, want := range []string{
		"**system was killed by SIGABRT at 1.5 s.**",
		"- system was killed by SIGABRT during the run; the other targets went on, and it is left out of the comparisons.",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the Markdown does not say %q:\n%s", want, md.String())
		}
	}
	r.Targets[1].Runs[0].Exit = &record.Exit{T: 1600 * time.Millisecond, Code: 3}
	md.Reset()
	Markdown(&md, r)
	if s := md.String(); strings.Contains(s, "went on") || !strings.Contains(s, "- jemalloc exited with code 3 during the run; no target ran to the end, so there is nothing to compare.") {
		t.Errorf("every lane died, and the conclusion says:\n%s", s[strings.Index(s, "### Conclusion"):])
	}
}

func TestSweepMarkdownHasEveryStepsSamples(t *testing.T) {
	r := fiveRuns([]float64{500, 510}, []float64{455, 465}, []float64{30e3, 30e3}, []float64{31e3, 31e3})
	r.Plan.Runs = 1
	r.Plan.Sweep = &record.Sweep{Parameter: record.SweepThreads, Values: []string{"2", "8"}}
	for i := range r.Targets {
		r.Targets[i].Runs[1].Step = 1
		r.Targets[i].Runs[1].Samples[0].RSSBytes = 777 << 10
	}
	var md strings.Builder
	Markdown(&md, r)
	s := md.String()
	for _, want := range []string{"#### threads=2", "#### threads=8", "| 1 | 777 |"} {
		if strings.Count(s, want) != 2 {
			t.Errorf("%q is not under each lane:\n%s", want, s)
		}
	}
}
