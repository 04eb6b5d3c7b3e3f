package report

import (
	"fmt"
	"image/color"
	"io"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/units"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Palette gives each target the same colour everywhere (the TUI uses it too): up to
// eight lanes, then it repeats.
var Palette = []color.RGBA{
	// Okabe and Ito's colour-blind-safe set, in an order that keeps the first lanes apart
	// for every kind of colour blindness and readable on dark and light backgrounds.
	{R: 0xe6, G: 0x9f, B: 0x00, A: 0xff}, // orange
	{R: 0x56, G: 0xb4, B: 0xe9, A: 0xff}, // sky blue
	{R: 0x00, G: 0x9e, B: 0x73, A: 0xff}, // bluish green
	{R: 0xcc, G: 0x79, B: 0xa7, A: 0xff}, // reddish purple
	{R: 0x00, G: 0x72, B: 0xb2, A: 0xff}, // blue
	{R: 0xd5, G: 0x5e, B: 0x00, A: 0xff}, // vermillion
	{R: 0xf0, G: 0xe4, B: 0x42, A: 0xff}, // yellow
	{R: 0x99, G: 0x99, B: 0x99, A: 0xff}, // grey
}

// SVGOptions sizes the chart; zero values give a 16:9 slide.
type SVGOptions struct {
	Width, Height vg.Length
}

// SVG draws RSS over time as a slide (Chart with the rss metric), or a sweep's peaks.
func SVG(w io.Writer, r *record.Record, o SVGOptions) error {
	return Chart(w, r, ChartOptions{Format: "svg", Width: o.Width, Height: o.Height})
}

type swatch struct{ c color.Color }

func (s *swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.c, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// shadeLoadPhases adds one band per distinct load window, up to top: one in a concurrent
// run, one per target in a sequential one. It returns how many it drew.
func shadeLoadPhases(p *plot.Plot, r *record.Record, top float64) (int, error) {
	shaded := map[[2]int64]bool{}
	for _, t := range r.Targets {
		if len(t.Runs) == 0 {
			continue
		}
		ph := t.Runs[0].Phases
		loads := [][2]time.Duration{{ph.LoadStart, ph.LoadEnd}}
		// A cycled run's loads are shaded one by one, the idles between them left clear.
		if cycles := t.Runs[0].Cycles; len(cycles) > 0 {
			loads = loads[:0]
			for _, c := range cycles {
				loads = append(loads, [2]time.Duration{c.LoadStart, c.LoadEnd})
			}
		}
		for _, l := range loads {
			if l[0] == 0 || l[1] == 0 {
				continue
			}
			key := [2]int64{int64(l[0] / 1e8), int64(l[1] / 1e8)}
			if shaded[key] {
				continue
			}
			shaded[key] = true
			x0, x1 := l[0].Seconds(), l[1].Seconds()
			band, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: 0}, {X: x1, Y: 0}, {X: x1, Y: top}, {X: x0, Y: top}})
			if err != nil {
				return 0, err
			}
			band.Color = color.RGBA{R: 0xee, G: 0xee, B: 0xee, A: 0xff}
			band.LineStyle.Width = 0
			p.Add(band)
		}
	}
	return len(shaded), nil
}

// sweepPlot draws a sweep: each lane's peak RSS against the swept parameter's values.
func sweepPlot(r *record.Record) (*plot.Plot, error) {
	sw := r.Plan.Sweep
	p := slidePlot(fmt.Sprintf("Peak RSS against %s", sw.Parameter), sw.Parameter, "peak RSS (MiB)")
	p.NominalX(sw.Values...)
	p.Y.Tick.Marker = wholeTicks{}
	steps := SweepSteps(r)
	var maxY float64
	for i, t := range r.Targets {
		var pts plotter.XYs
		for k, st := range steps {
			if f := st.Sums[i].PeakRSS; f.Known() {
				pts = append(pts, plotter.XY{X: float64(k), Y: units.InMiB(f.Median)})
				maxY = max(maxY, units.InMiB(f.Median))
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		line.Color, points.Color = Palette[i%len(Palette)], Palette[i%len(Palette)]
		line.Width = vg.Points(3)
		p.Add(line, points)
		p.Legend.Add(t.Name, line)
	}
	p.Y.Min, p.Y.Max = 0, max(maxY, 1)*1.35
	return p, nil
}

// slidePlot is a plot with a grid and type large enough for a slide.
func slidePlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(20)
	p.Title.Padding = vg.Points(10)
	p.X.Label.Text, p.Y.Label.Text = x, y
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(16)
		a.Tick.Label.Font.Size = vg.Points(14)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(16)
	p.Add(plotter.NewGrid())
	return p
}
