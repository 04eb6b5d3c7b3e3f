package report

import (
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
)

// lane is a target whose runs had these peak RSS (MiB), req/s and p99 (ms), run by run.
func lane(name string, mib, rps, p99ms []float64) record.Target {
	t := record.Target{Name: name}
	for k := range mib {
		t.Runs = append(t.Runs, record.TargetRun{
			Peaks:  map[record.Phase]record.PeakRSS{record.PhaseLoad: {Bytes: uint64(mib[k] * (1 << 20)), Source: record.PeakKernel}},
			Result: &record.LoadResult{Requests: 1000, ReqPerSec: rps[k], P99: time.Duration(p99ms[k] * float64(time.Millisecond))},
		})
	}
	return t
}

func TestTheFrontKeepsTheLanesNoOtherBeats(t *testing.T) {
	r := &record.Record{Targets: []record.Target{
		lane("fast", []float64{100}, []float64{1000}, []float64{5}),
		lane("small", []float64{50}, []float64{800}, []float64{5}),
		lane("worse", []float64{120}, []float64{900}, []float64{6}),
		lane("within-noise", []float64{100.5}, []float64{995}, []float64{5.02}),
	}}
	f, ok := ParetoFront(r)
	if !ok {
		t.Fatal("no front")
	}
	var got []string
	for _, p := range f.Points {
		s := p.Name
		if !p.OnFront {
			s += "<" + p.DominatedBy
		}
		got = append(got, s)
	}
	if got, want := strings.Join(got, " "), "small fast within-noise worse<fast"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWithRunsOnlyACalledDifferenceDominates(t *testing.T) {
	// b is a little worse on every figure, but one run of three goes the other way: the
	// paired test does not call it, so b stays on the front beside a.
	r := &record.Record{Targets: []record.Target{
		lane("a", []float64{100, 100, 100}, []float64{1000, 1000, 1000}, []float64{5, 5, 5}),
		lane("b", []float64{110, 112, 95}, []float64{950, 940, 1010}, []float64{5.5, 5.6, 4.9}),
		lane("c", []float64{150, 151, 152}, []float64{700, 701, 702}, []float64{8, 8.1, 8.2}),
	}}
	f, _ := ParetoFront(r)
	if !f.Tested {
		t.Fatal("three runs a lane: want the paired test to decide")
	}
	for _, p := range f.Points {
		if want := p.Name != "c"; p.OnFront != want {
			t.Errorf("%s: on the front %v, want %v (dominated by %q)", p.Name, p.OnFront, want, p.DominatedBy)
		}
	}
}

func TestTheParetoChartLabelsEachLaneAndGreysTheDominated(t *testing.T) {
	r := &record.Record{Targets: []record.Target{
		lane("fast", []float64{100, 101}, []float64{1000, 1001}, []float64{5, 5}),
		lane("small", []float64{50, 51}, []float64{800, 801}, []float64{5, 5}),
		lane("worse", []float64{120, 121}, []float64{900, 901}, []float64{6, 6}),
	}}
	var b strings.Builder
	if err := WriteCharted(&b, r, "svg", []string{ChartPareto}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">fast<", ">small<", ">worse (dominated)<", "the front", "min–max over the runs"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	if err := WriteCharted(&b, &record.Record{Targets: r.Targets[:1]}, "svg", []string{ChartPareto}); err == nil {
		t.Error("one lane: want no trade-off to draw")
	}
}

// The footnote of a single run says plainly what stands in for a test of noise.
func TestTheSingleRunFootnoteReads(t *testing.T) {
	r := &record.Record{Targets: []record.Target{
		lane("fast", []float64{100}, []float64{1000}, []float64{5}),
		lane("small", []float64{50}, []float64{800}, []float64{5}),
	}}
	var b strings.Builder
	writeFront(&b, r)
	if s := b.String(); strings.Contains(s, "with one run a lane, a lane beats") ||
		!strings.Contains(s, "with a single run of each lane there is no test of noise, so one lane counts as better than another where their figures are at least 1% apart") {
		t.Errorf("the footnote:\n%s", s)
	}
}
