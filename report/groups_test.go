package report

import (
	"strings"
	"testing"

	"github.com/allocscope/allocscope/record"
)

// withServers turns fiveRuns' lanes into a built-in lane and two lanes of a --target:
// the run, where the Conclusion compared the built-in server with another server.
func withServers(r *record.Record) *record.Record {
	app := []string{"python3", "-m", "http.server", "{port}"}
	r.Targets[1].Name, r.Targets[1].Kind, r.Targets[1].Command = "app+system", record.KindCommand, app
	je := r.Targets[1]
	je.Name, je.Allocator = "app+jemalloc", "jemalloc"
	je.Runs = append([]record.TargetRun(nil), r.Targets[1].Runs...)
	for k := range je.Runs {
		p := je.Runs[k].Peaks[record.PhaseLoad]
		p.Bytes *= 2
		je.Runs[k].Peaks = map[record.Phase]record.PeakRSS{record.PhaseLoad: p}
	}
	r.Targets[0].Kind = record.KindBuiltin
	r.Targets = append(r.Targets, je)
	return r
}

func TestLanesOfDifferentServersAreNeverCompared(t *testing.T) {
	for _, runs := range []int{1, 5} {
		peaks := []float64{4, 4.1, 3.9, 4, 4}[:runs]
		apps := []float64{100, 104, 98, 101, 103}[:runs]
		rps := []float64{30e3, 29e3, 31e3, 30e3, 30e3}[:runs]
		r := withServers(fiveRuns(peaks, apps, rps, rps))
		var md strings.Builder
		if err := Markdown(&md, r); err != nil {
			t.Fatal(err)
		}
		out := md.String()
		conclusion := out[strings.Index(out, "### Conclusion"):]
		if strings.Contains(conclusion, " system's") || strings.Contains(conclusion, ", system had") || strings.Contains(conclusion, "had 4.0 MiB") {
			t.Errorf("%d runs: the built-in lane was compared with another server's:\n%s", runs, conclusion)
		}
		for _, want := range []string{
			"These lanes ran 2 different servers (system; app+system, app+jemalloc)",
			"### The built-in server\n",
			"### `python3 -m http.server {port}`\n",
			// Relative to its own server's first lane, not to the built-in one.
			"| 1.00 |\n| app+jemalloc |",
			"| 2.00 |\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%d runs: Markdown lacks %q:\n%s", runs, want, out[strings.Index(out, "## Summary"):])
			}
		}
	}
	r := withServers(fiveRuns([]float64{4, 4.1, 3.9, 4, 4}, []float64{100, 104, 98, 101, 103}, []float64{3e4, 3e4, 3e4, 3e4, 3e4}, []float64{3e4, 3e4, 3e4, 3e4, 3e4}))
	v := Judge(r)
	for _, c := range v.Comparisons {
		if c.Base != 1 || c.Other != 2 {
			t.Errorf("compared lane %d with lane %d: want only app+jemalloc with app+system", c.Other, c.Base)
		}
	}
	if got := v.Mark(2, record.MetricPeakRSS.Key); got != " *" {
		t.Errorf("app+jemalloc's doubled peak is not marked against app+system: %q", got)
	}
}
