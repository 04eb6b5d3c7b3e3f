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
