package report

import (
	"fmt"
	"image/color"
	"io"
	"sort"

	"github.com/allocscope/allocscope/record"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ChartPareto names the trade-off chart (report --chart pareto).
const ChartPareto = "pareto"

// dominatedGrey draws the lanes off the front.
var dominatedGrey = color.RGBA{R: 0xb0, G: 0xb0, B: 0xb0, A: 0xff}

// ParetoChart draws the front: memory against req/s in one panel and against p99 in the
// other, each lane labelled, the front joined, the dominated lanes grey, and each point's
// range over the runs where there are several.
func ParetoChart(w io.Writer, r *record.Record, o ChartOptions) error {
	r = PrintableRecord(r)
	f, ok := ParetoFront(r)
	if !ok {
		return fmt.Errorf("no trade-off to draw: the front needs two lanes or more that finished with memory, req/s and p99 (and no sweep of --threads, -c or --scenario)")
	}
	o = o.withDefaults()
	memLabel := f.Memory.Label + " (MiB)"
	rps, err := frontPanel(f, "Throughput against memory", memLabel, "req/s", func(p Point) record.Figure { return p.RPS }, 1)
	if err != nil {
		return err
	}
	p99, err := frontPanel(f, "p99 latency against memory", memLabel, "p99 (ms)", func(p Point) record.Figure { return p.P99 }, 1e-6)
	if err != nil {
		return err
	}
	plots := [][]*plot.Plot{{rps, p99}}
	return render(w, o, func(c draw.Canvas) {
		tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(24), PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(16)}
		for _, row := range plot.Align(plots, tiles, c) {
			for j, cell := range row {
				plots[0][j].Draw(cell)
			}
		}
	})
}

// errorXYs is points with their ranges, for gonum's error bars.
type errorXYs struct {
	plotter.XYs
	plotter.XErrors
	plotter.YErrors
}

// frontPanel draws one figure of the lanes against their memory.
func frontPanel(f Front, title, x, y string, fig func(Point) record.Figure, scale float64) (*plot.Plot, error) {
	p := slidePlot(title, x, y)
	p.Legend.Top, p.Legend.Left = true, false
	var front plotter.XYs
	ranged := false
	var maxX, maxY float64
	for _, pt := range f.Points {
		mem, v := pt.Memory, fig(pt)
		xy := plotter.XY{X: mem.Median / (1 << 20), Y: v.Median * scale}
		maxX, maxY = max(maxX, mem.Max/(1<<20)), max(maxY, v.Max*scale)
		c := color.Color(Palette[pt.Target%len(Palette)])
		if !pt.OnFront {
			c = dominatedGrey
		} else {
			front = append(front, xy)
		}
		s, err := plotter.NewScatter(plotter.XYs{xy})
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = c, vg.Points(7), draw.CircleGlyph{}
		p.Add(s)
		if mem.N >= 2 {
			ranged = true
			e := errorXYs{XYs: plotter.XYs{xy},
				XErrors: plotter.XErrors{{Low: xy.X - mem.Min/(1<<20), High: mem.Max/(1<<20) - xy.X}},
				YErrors: plotter.YErrors{{Low: xy.Y - v.Min*scale, High: v.Max*scale - xy.Y}}}
			xb, err := plotter.NewXErrorBars(e)
			if err != nil {
				return nil, err
			}
			yb, err := plotter.NewYErrorBars(e)
			if err != nil {
				return nil, err
			}
			xb.LineStyle.Color, yb.LineStyle.Color = c, c
			p.Add(xb, yb)
		}
		name := pt.Name
		if !pt.OnFront {
			name += " (dominated)"
		}
		l, err := textLabels(plotter.XYs{xy}, []string{name}, textStyle(13), vg.Point{X: vg.Points(10), Y: vg.Points(4)})
		if err != nil {
			return nil, err
		}
		l.TextStyle[0].Color = c
		p.Add(l)
	}
	sort.Slice(front, func(a, b int) bool { return front[a].X < front[b].X })
	if len(front) >= 2 {
		line, err := plotter.NewLine(front)
		if err != nil {
			return nil, err
		}
		line.Width, line.Dashes = vg.Points(2), []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(line)
		p.Legend.Add("the front", line)
	}
	if ranged {
		p.Title.Text += " (bars: min–max over the runs)"
	}
	p.X.Min, p.Y.Min = 0, 0
	// Room on the right for the last lane's label.
	p.X.Max, p.Y.Max = max(maxX, 1)*1.3, max(maxY, 1)*1.15
	return p, nil
}
