package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

func TestChartSVGHasOneSeriesPerLanePerPanel(t *testing.T) {
	r := fixture(t)
	metrics := []string{"rss", "cpu", "rps"}
	var b bytes.Buffer
	if err := Chart(&b, r, ChartOptions{Format: "svg", Metrics: metrics}); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	lines := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok || el.Name.Local != "path" {
			continue
		}
		for _, a := range el.Attr {
			// Series are drawn 2.5 points wide; nothing else is.
			if a.Name.Local == "style" && strings.Contains(a.Value, "stroke-width:2.5") {
				lines[strings.SplitN(strings.SplitN(a.Value, "stroke:", 2)[1], ";", 2)[0]]++
			}
		}
	}
	for i, tg := range r.Targets {
		c := Palette[i%len(Palette)]
		hex := fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B)
		want := 0
		for _, key := range metrics {
			m, _ := lookupMetric(key)
			for _, run := range tg.Runs {
				if len(m.series(run)) > 0 {
					want++
				}
			}
		}
		if lines[hex] != want || want < len(metrics) {
			t.Errorf("%s (%s): %d series drawn, want %d (one per run per panel)", tg.Name, hex, lines[hex], want)
		}
	}
	if !strings.Contains(b.String(), "seconds since start") || !strings.Contains(b.String(), "RSS (MiB)") {
		t.Error("the axes are not labelled")
	}
}

func TestChartPNGIsASlideWithEveryLane(t *testing.T) {
	r := fixture(t)
	var b bytes.Buffer
	if err := Chart(&b, r, ChartOptions{Format: "png", Metrics: []string{"rss", "p99"}}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got.X != 1920 || got.Y != 1080 {
		t.Fatalf("size %v, want 1920×1080 (16:9 at 144 dpi)", got)
	}
	counts := map[[3]uint8]int{}
	inked := 0
	for y := 0; y < 1080; y++ {
		for x := 0; x < 1920; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			px := [3]uint8{uint8(cr >> 8), uint8(cg >> 8), uint8(cb >> 8)}
			counts[px]++
			if px != [3]uint8{255, 255, 255} {
				inked++
			}
		}
	}
	if inked < 1920*1080/100 {
		t.Errorf("only %d pixels are not white: the chart is empty", inked)
	}
	for i, tg := range r.Targets {
		c := Palette[i%len(Palette)]
		if n := counts[[3]uint8{c.R, c.G, c.B}]; n < 200 {
			t.Errorf("%s's colour covers %d pixels: its lines are missing", tg.Name, n)
		}
	}
}

func TestChartRefusesAnUnknownOrEmptyMetric(t *testing.T) {
	r := fixture(t)
	for metric, want := range map[string]string{"bogus": "unknown metric \"bogus\"", "cgroup": "no lane has cgroup figures"} {
		if err := CheckMetrics(r, []string{"rss", metric}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", metric, err, want)
		}
	}
	// The metrics offered instead are ones this record can chart.
	err := CheckMetrics(r, []string{"cgroup"})
	if err == nil || !strings.Contains(err.Error(), "(this record has rss") || strings.Contains(err.Error(), ", cgroup") {
		t.Errorf("cgroup on a record without cgroups: %v; want only the metrics it has offered", err)
	}
}

func TestWholeTicksAreRoundNumbers(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 750, "0 200 400 600"},
		{0, 4.2, "0 1 2 3 4"},
		{0, 11, "0 5 10"},
		{0, 130000, "0 50000 100000"},
	} {
		var got []string
		for _, tk := range (wholeTicks{}).Ticks(c.lo, c.hi) {
			got = append(got, tk.Label)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%g–%g: ticks %v, want %s", c.lo, c.hi, got, c.want)
		}
	}
}

// Seven panels on one slide: each must keep room for its data (a label longer than the
// panel is tall used to squeeze it to nothing).
func TestChartOfEveryMetricDrawsDataInEveryPanel(t *testing.T) {
	r := fixture(t)
	metrics := []string{"rss", "vsz", "pss", "heap", "cpu", "rps", "p99"}
	var b bytes.Buffer
	if err := Chart(&b, r, ChartOptions{Format: "png", Metrics: metrics}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	lane := map[[3]uint8]bool{}
	for i := range r.Targets {
		c := Palette[i%len(Palette)]
		lane[[3]uint8{c.R, c.G, c.B}] = true
	}
	// The panels lie between the title and the time axis, left of the legend.
	top, bottom := 90, 1080-100
	band := (bottom - top) / len(metrics)
	for k, m := range metrics {
		inked := 0
		for y := top + k*band; y < top+(k+1)*band; y++ {
			for x := 150; x < 1400; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				if lane[[3]uint8{uint8(cr >> 8), uint8(cg >> 8), uint8(cb >> 8)}] {
					inked++
				}
			}
		}
		if inked < 300 {
			t.Errorf("panel %d (%s): %d pixels of the lanes' lines, the panel is empty", k+1, m, inked)
		}
	}
}

// Fifty lanes: the legend names every one on the slide.
func TestChartLegendNamesEveryLaneOfMany(t *testing.T) {
	r := fixture(t)
	one := r.Targets[0]
	r.Targets = nil
	for i := range 50 {
		l := one
		l.Name = fmt.Sprintf("lane%02d", i)
		r.Targets = append(r.Targets, l)
	}
	var b bytes.Buffer
	if err := Chart(&b, r, ChartOptions{Format: "svg"}); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	var y string
	seen := map[string]bool{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			for _, a := range el.Attr {
				if a.Name.Local == "y" {
					y = a.Value
				}
			}
		case xml.CharData:
			// vgsvg flips the page: a text inside it has a negative y.
			if s := string(el); strings.HasPrefix(s, "lane") && strings.HasPrefix(y, "-") {
				seen[strings.Fields(s)[0]] = true
			}
		}
	}
	for i := range 50 {
		if name := fmt.Sprintf("lane%02d", i); !seen[name] {
			t.Errorf("%s has no legend entry on the slide", name)
		}
	}
}

// Between cycles there is no load tick: the throughput and p99 lines stop at each load's
// end and start again at the next, and RSS, sampled through the idle, stays one line.
func TestLoadLinesBreakAtTheIdleBetweenCycles(t *testing.T) {
	pts := plotter.XYs{{X: 1, Y: 10}, {X: 2, Y: 11}, {X: 3, Y: 12}, {X: 6, Y: 10}, {X: 7, Y: 11}, {X: 10, Y: 9}}
	for key, want := range map[string][]int{"rps": {3, 2, 1}, "p99": {3, 2, 1}, "rss": {6}} {
		segs := loadSegments(key, pts)
		var got []int
		for _, s := range segs {
			got = append(got, len(s))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: segments of %v points, want %v", key, got, want)
		}
	}
}
