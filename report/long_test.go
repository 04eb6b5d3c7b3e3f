package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
	"gonum.org/v1/plot/plotter"
)

func TestEnvelopeKeepsEveryColumnsExtremes(t *testing.T) {
	var xys plotter.XYs
	for i := 0; i < 1000; i++ {
		y := 10.0
		switch i {
		case 123:
			y = 99 // a one-sample spike
		case 456:
			y = -5 // and a dip
		}
		xys = append(xys, plotter.XY{X: float64(i), Y: y})
	}
	got := envelope(xys, 0, 1000, 10)
	if len(got) > 40 {
		t.Fatalf("%d points for 10 columns; want at most 4 a column", len(got))
	}
	has := func(x, y float64) bool {
		for _, p := range got {
			if p.X == x && p.Y == y {
				return true
			}
		}
		return false
	}
	for _, want := range []plotter.XY{{X: 0, Y: 10}, {X: 123, Y: 99}, {X: 456, Y: -5}, {X: 999, Y: 10}} {
		if !has(want.X, want.Y) {
			t.Errorf("the envelope lost %v", want)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].X <= got[i-1].X {
			t.Fatalf("the envelope goes back in time at %d: %v", i, got[i-1:i+1])
		}
	}
	if short := xys[:30]; len(envelope(short, 0, 30, 10)) != 30 {
		t.Error("a series shorter than the columns was reduced")
	}
}

func TestTimeAxisUnitFollowsTheSpan(t *testing.T) {
	for _, c := range []struct {
		span   float64
		labels string
		name   string
	}{
		{60, "0 20 40 60", "seconds"},
		{15 * 60, "0 5 10 15", "minutes"},
		{24 * 3600, "0 5 10 15 20", "hours"},
	} {
		u := timeUnitFor(c.span)
		var labels []string
		for _, tk := range (timeTicks{u}).Ticks(0, c.span) {
			labels = append(labels, tk.Label)
		}
		if got := strings.Join(labels, " "); got != c.labels || u.long != c.name {
			t.Errorf("%v s: ticks %q in %s, want %q in %s", c.span, got, u.long, c.labels, c.name)
		}
	}
}

// TestADayAtOneSecondReportsInEveryFormat renders a synthetic 24-hour record, 86,400
// samples a lane for 3 lanes, in every format, and checks the chart's time axis says hours.
// dayRecord keeps the day's record for timing the commands on it:
// go test ./report -run TestADay -args -day-record /tmp/day.json
// then time allocscope report /tmp/day.json (and replay it).
var dayRecord = flag.String("day-record", "", "also write the synthetic 24-hour record to this path")

func TestADayAtOneSecondReportsInEveryFormat(t *testing.T) {
	if testing.Short() || raceEnabled {
		// Some 20 s on a busy machine, ten times that under the race detector; the code
		// it runs is the same, and the race run covers it with the short records.
		t.Skip("builds and renders a 24-hour record: not with -short or -race")
	}
	lanes := []synthLane{
		{name: "system", base: 100, leak: 2, gain: 40},
		{name: "jemalloc", base: 100, gain: 40, decay: 5 * time.Second},
		{name: "mimalloc", base: 100, gain: 40, decay: 2 * time.Second},
	}
	// 24 cycles of 30 min load and 30 min idle: a day.
	r := cycledRecord(lanes, 24, 30*time.Minute, 30*time.Minute, time.Second)
	if n := len(r.Targets[0].Runs[0].Samples); n < 86400 {
		t.Fatalf("%d samples a lane; want a day's", n)
	}
	path := filepath.Join(t.TempDir(), "day.json")
	if *dayRecord != "" {
		path = *dayRecord
	}
	var enc bytes.Buffer
	if err := record.Encode(&enc, r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, enc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	loaded, err := record.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("record.Load of %d MiB: %v", enc.Len()>>20, time.Since(start))
	for _, format := range Formats {
		start := time.Now()
		var b bytes.Buffer
		if err := Write(&b, loaded, format); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		t.Logf("%s: %d KiB in %v", format, b.Len()>>10, time.Since(start))
		switch format {
		case "svg":
			if !strings.Contains(b.String(), "hours since start") {
				t.Error("the chart of a day is not labelled in hours")
			}
		case "md":
			if !strings.Contains(b.String(), "After 24 cycles of 30 min load and 30 min idle, system kept growing") {
				t.Error("the Markdown of a day lacks its retention lead")
			}
		}
	}
}
