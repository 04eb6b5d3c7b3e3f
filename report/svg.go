package report

import (
	"fmt"
	"image/color"
	"io"

	"github.com/allocscope/allocscope/record"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Palette gives each target the same colour everywhere (the TUI uses it too).
var Palette = []color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
	{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
	{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, // brown
	{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, // pink
	{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}, // grey
}

// SVGOptions sizes the chart; zero values give a 16:9 slide.
type SVGOptions struct {
	Width, Height vg.Length
}

// SVG draws RSS over time, one line per target, the load phase shaded, with a legend.
func SVG(w io.Writer, r *record.Record, o SVGOptions) error {
	r = PrintableRecord(r)
	if o.Width == 0 {
		o.Width, o.Height = 12*vg.Inch, 6.75*vg.Inch
	}
	if r.Plan.Sweep != nil {
		return sweepSVG(w, r, o)
	}
	title := "RSS over time"
	if r.Plan.Scenario != "" {
		title += fmt.Sprintf(" — %s, %d connections", r.Plan.Scenario, r.Plan.Connections)
	}
	p := slidePlot(title, "seconds since start", "RSS (MiB)")
	var maxY float64
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			for _, s := range run.Samples {
				maxY = max(maxY, float64(s.RSSBytes)/(1<<20))
			}
		}
	}
	if maxY == 0 {
		maxY = 1
	}
	shaded, err := shadeLoadPhases(p, r, maxY*1.35)
	if err != nil {
		return err
	}
	if shaded > 0 {
		p.Legend.Add("load phase", &swatch{color.RGBA{R: 0xdd, G: 0xdd, B: 0xdd, A: 0xff}})
	}
	for i, t := range r.Targets {
		for ri, run := range t.Runs {
			if len(run.Samples) == 0 {
				continue
			}
			pts := make(plotter.XYs, len(run.Samples))
			for j, s := range run.Samples {
				pts[j] = plotter.XY{X: s.T.Seconds(), Y: float64(s.RSSBytes) / (1 << 20)}
			}
			line, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			line.Color = Palette[i%len(Palette)]
			line.Width = vg.Points(3)
			if ri > 0 {
				line.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
			}
			p.Add(line)
			if ri == 0 {
				p.Legend.Add(t.Name, line)
			}
		}
	}
	p.Y.Min = 0
	// Headroom above the lines keeps the legend off them.
	p.Y.Max = maxY * 1.35
	wt, err := p.WriterTo(o.Width, o.Height, "svg")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
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
		if ph.LoadStart == 0 || ph.LoadEnd == 0 {
			continue
		}
		key := [2]int64{int64(ph.LoadStart / 1e8), int64(ph.LoadEnd / 1e8)}
		if shaded[key] {
			continue
		}
		shaded[key] = true
		x0, x1 := ph.LoadStart.Seconds(), ph.LoadEnd.Seconds()
		band, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: 0}, {X: x1, Y: 0}, {X: x1, Y: top}, {X: x0, Y: top}})
		if err != nil {
			return 0, err
		}
		band.Color = color.RGBA{R: 0xee, G: 0xee, B: 0xee, A: 0xff}
		band.LineStyle.Width = 0
		p.Add(band)
	}
	return len(shaded), nil
}

// sweepSVG draws a sweep: each lane's peak RSS against the swept parameter's values.
func sweepSVG(w io.Writer, r *record.Record, o SVGOptions) error {
	sw := r.Plan.Sweep
	p := slidePlot(fmt.Sprintf("Peak RSS against %s", sw.Parameter), sw.Parameter, "peak RSS (MiB)")
	p.NominalX(sw.Values...)
	steps := SweepSteps(r)
	var maxY float64
	for i, t := range r.Targets {
		var pts plotter.XYs
		for k, st := range steps {
			if f := st.Sums[i].PeakRSS; f.Known() {
				pts = append(pts, plotter.XY{X: float64(k), Y: f.Median / (1 << 20)})
				maxY = max(maxY, f.Median/(1<<20))
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		line.Color, points.Color = Palette[i%len(Palette)], Palette[i%len(Palette)]
		line.Width = vg.Points(3)
		p.Add(line, points)
		p.Legend.Add(t.Name, line)
	}
	p.Y.Min, p.Y.Max = 0, max(maxY, 1)*1.35
	wt, err := p.WriterTo(o.Width, o.Height, "svg")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
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
