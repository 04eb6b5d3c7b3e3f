package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/units"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// ChartOptions choose a slide chart's metrics (one panel each, sharing the time axis),
// its format (svg or png) and size; zero values give RSS as an SVG on a 16:9 slide.
type ChartOptions struct {
	Format  string
	Metrics []string
	Width   vg.Length
	Height  vg.Length
	// DPI is a PNG's resolution: 144 makes the default slide 1920×1080 pixels.
	DPI int
}

// Slide size: PowerPoint's and Keynote's 16:9 page.
const (
	slideWidth  = 13.333 * vg.Inch
	slideHeight = 7.5 * vg.Inch
	slideDPI    = 144
)

// chartMetric is a record.Series as a slide draws it, with its exact peak where the
// metric has one.
type chartMetric struct {
	key, name, label, unit string
	series                 func(record.TargetRun) plotter.XYs
	// peak is the run's exact peak and when it happened.
	peak func(record.TargetRun) (t, v float64, ok bool)
}

// chartPeaks are the metrics whose peak the kernel keeps.
var chartPeaks = map[string]func(record.TargetRun) (float64, float64, bool){"rss": rssPeak, "cgroup": cgroupPeak}

func newChartMetric(s record.Series) chartMetric {
	return chartMetric{key: s.Key, name: s.Name, label: s.Label, unit: s.Unit, peak: chartPeaks[s.Key], series: func(run record.TargetRun) plotter.XYs {
		pts := s.Of(run)
		// The load's last tick covers the moment it stopped (0.1–0.2 s, a request or
		// two): drawn as a second of load it reads as a collapse at the end.
		if n := len(pts); (s.Key == "rps" || s.Key == "p99") && n >= 2 && pts[n-1].T-pts[n-2].T < 500*time.Millisecond {
			pts = pts[:n-1]
		}
		xys := make(plotter.XYs, len(pts))
		for i, p := range pts {
			xys[i] = plotter.XY{X: p.T.Seconds(), Y: p.V}
		}
		return xys
	}}
}

// loadGap is the longest span between two load ticks (one a second) still one load.
const loadGap = 1.5

// loadSegments splits a load figure's points where no tick came for longer than loadGap:
// between cycles there was no load, and a line across the idle would draw throughput
// and latency that were never measured. Memory figures are one line.
func loadSegments(key string, pts plotter.XYs) []plotter.XYs {
	if key != "rps" && key != "p99" {
		return []plotter.XYs{pts}
	}
	var out []plotter.XYs
	from := 0
	for k := 1; k <= len(pts); k++ {
		if k == len(pts) || pts[k].X-pts[k-1].X > loadGap {
			out = append(out, pts[from:k])
			from = k
		}
	}
	return out
}

func mib(b uint64) float64 { return units.InMiB(float64(b)) }

// ChartMetricNames lists what --metric takes.
func ChartMetricNames() []string {
	var out []string
	for _, m := range record.AllSeries {
		out = append(out, m.Key)
	}
	return out
}

func lookupMetric(key string) (chartMetric, error) {
	if s, ok := record.LookupSeries(strings.ToLower(strings.TrimSpace(key))); ok {
		return newChartMetric(s), nil
	}
	return chartMetric{}, fmt.Errorf("unknown metric %q: choose from %s", key, strings.Join(ChartMetricNames(), ", "))
}

// rssPeak is the kernel's peak (VmHWM per phase), placed at the largest sample's time.
func rssPeak(run record.TargetRun) (float64, float64, bool) {
	var peak uint64
	for _, p := range run.Peaks {
		peak = max(peak, p.Bytes)
	}
	var at float64
	var top uint64
	for _, s := range run.Samples {
		if s.RSSBytes > top {
			top, at = s.RSSBytes, s.T.Seconds()
		}
	}
	peak = max(peak, top)
	return at, mib(peak), peak > 0
}

func cgroupPeak(run record.TargetRun) (float64, float64, bool) {
	if run.Cgroup == nil || run.Cgroup.PeakBytes == 0 {
		return 0, 0, false
	}
	var at float64
	var top uint64
	for _, s := range run.Samples {
		if s.CgroupBytes > top {
			top, at = s.CgroupBytes, s.T.Seconds()
		}
	}
	return at, mib(max(run.Cgroup.PeakBytes, top)), true
}

// CheckMetrics says, before anything is written, whether r can be charted with metrics:
// each must be known and some lane must have its figures.
func CheckMetrics(r *record.Record, metrics []string) error {
	for _, key := range metrics {
		m, err := lookupMetric(key)
		if err != nil {
			return err
		}
		if r.Plan.Sweep == nil && !hasSeries(r, m) {
			var has []string
			for _, s := range record.AllSeries {
				if hasSeries(r, newChartMetric(s)) {
					has = append(has, s.Key)
				}
			}
			if len(has) == 0 {
				return fmt.Errorf("no lane has %s figures in this record, nor any other figures to chart", m.key)
			}
			return fmt.Errorf("no lane has %s figures in this record: choose another --metric (this record has %s)", m.key, strings.Join(has, ", "))
		}
	}
	return nil
}

// Chart draws a slide: a title naming the scenario and the lanes, one panel per metric
// over a shared time axis, the load phase shaded and the phases labelled, events (OOM
// kills, crashes, pauses) marked, exact peaks marked, and the legend beside the data.
func Chart(w io.Writer, r *record.Record, o ChartOptions) error {
	r = PrintableRecord(r)
	// Metrics asked for must have figures; the default RSS chart is drawn even empty, as
	// an export of a run that measured nothing yet.
	if len(o.Metrics) > 0 {
		if err := CheckMetrics(r, o.Metrics); err != nil {
			return err
		}
	}
	o = o.withDefaults()
	if r.Plan.Sweep != nil {
		p, err := sweepPlot(r)
		if err != nil {
			return err
		}
		return render(w, o, func(c draw.Canvas) { p.Draw(c) })
	}
	var metrics []chartMetric
	for _, key := range o.Metrics {
		m, _ := lookupMetric(key)
		metrics = append(metrics, m)
	}
	r = fromFirstStart(r)
	var xMax float64
	for _, m := range metrics {
		for _, t := range r.Targets {
			for _, run := range t.Runs {
				for _, pt := range m.series(run) {
					xMax = math.Max(xMax, pt.X)
				}
			}
		}
	}
	title := chartTitle(r)
	titleStyle := textStyle(22)
	titleStyle.XAlign = draw.XCenter
	titleH := titleStyle.Height(title) + vg.Points(16)
	// Each panel's data area, as plot.Align will size them (it makes them equal): the
	// time axis is labelled under the last only. An axis label longer than its panel is
	// tall would squeeze the panel's data to nothing.
	const padY, timeAxis, panelAxes = 14, 48, 12
	dataH := (o.Height-titleH-vg.Points(timeAxis))/vg.Length(len(metrics)) - vg.Points(padY+panelAxes)
	// One size for every panel's label, the largest that fits them all.
	labelSize := vg.Points(15)
	for _, m := range metrics {
		_, size := axisLabel(m, dataH, labelSize)
		labelSize = min(labelSize, size)
	}
	var plots [][]*plot.Plot
	for k, m := range metrics {
		p, err := panel(r, m, k == 0, k == len(metrics)-1, math.Max(xMax, 1), dataH, labelSize)
		if err != nil {
			return err
		}
		plots = append(plots, []*plot.Plot{p})
	}
	legend := chartLegend(r, metrics[0], o.Height-titleH-vg.Points(12))
	return render(w, o, func(c draw.Canvas) {
		c.FillText(titleStyle, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y - titleH + vg.Points(6)}, title)
		legendW := legendWidth(legend, r, metrics[0])
		data := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{Min: c.Min, Max: vg.Point{X: c.Max.X - legendW, Y: c.Max.Y - titleH}}}
		side := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: c.Max.X - legendW + vg.Points(12), Y: c.Min.Y}, Max: vg.Point{X: c.Max.X, Y: c.Max.Y - titleH - vg.Points(12)}}}
		tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(padY), PadLeft: vg.Points(8), PadBottom: vg.Points(8)}
		for i, row := range plot.Align(plots, tiles, data) {
			plots[i][0].Draw(row[0])
		}
		legend.Draw(side)
	})
}

func (o ChartOptions) withDefaults() ChartOptions {
	if o.Format == "" {
		o.Format = "svg"
	}
	if len(o.Metrics) == 0 {
		o.Metrics = []string{"rss"}
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = slideWidth, slideHeight
	}
	if o.DPI == 0 {
		o.DPI = slideDPI
	}
	return o
}

// render draws onto an SVG or PNG canvas of the options' size and writes it.
func render(w io.Writer, o ChartOptions, paint func(draw.Canvas)) error {
	switch strings.ToLower(o.Format) {
	case "svg":
		c := vgsvg.New(o.Width, o.Height)
		fillBackground(c, o.Width, o.Height)
		paint(draw.New(c))
		pw := &printableWriter{w: w}
		if _, err := c.WriteTo(pw); err != nil {
			return err
		}
		return pw.Close()
	case "png":
		c := vgimg.NewWith(vgimg.UseWH(o.Width, o.Height), vgimg.UseDPI(o.DPI), vgimg.UseBackgroundColor(color.White))
		paint(draw.New(c))
		_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
		return err
	}
	return fmt.Errorf("unknown chart format %q: use svg or png", o.Format)
}

// fillBackground makes an SVG opaque white, so it reads on a dark slide too.
func fillBackground(c vg.Canvas, w, h vg.Length) {
	var p vg.Path
	p.Move(vg.Point{})
	p.Line(vg.Point{X: w})
	p.Line(vg.Point{X: w, Y: h})
	p.Line(vg.Point{Y: h})
	p.Close()
	c.SetColor(color.White)
	c.Fill(p)
}

func textStyle(size vg.Length) text.Style {
	return text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler}
}

func hasSeries(r *record.Record, m chartMetric) bool {
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			if len(m.series(run)) > 0 {
				return true
			}
		}
	}
	return false
}

func chartTitle(r *record.Record) string {
	names := make([]string, len(r.Targets))
	for i, t := range r.Targets {
		names[i] = t.Name
	}
	what := r.Plan.Scenario
	if what == "" {
		what = r.Plan.Path
	}
	title := strings.Join(names, " vs ")
	// A slide's title fits one line; the legend names every lane anyway.
	if len(title) > 60 {
		title = fmt.Sprintf("%d lanes", len(names))
	}
	if what != "" && what != record.ScenarioWatch {
		title += fmt.Sprintf(" — %s, %s connections, %s", what, Count(float64(r.Plan.Connections)), trimSeconds(r.Plan.Duration.Seconds()))
	}
	return title
}

func trimSeconds(s float64) string { return strconv.FormatFloat(s, 'f', -1, 64) + " s" }

// panel is one metric's plot: every lane's runs (the first solid, later ones dashed), the
// load phase shaded, events as vertical lines, exact peaks marked; the top panel labels
// the phases and events, the bottom one the time axis.
func panel(r *record.Record, m chartMetric, top, bottom bool, xMax float64, dataH, labelSize vg.Length) (*plot.Plot, error) {
	p := plot.New()
	p.Y.Label.Text, p.Y.Label.TextStyle.Font.Size = axisLabel(m, dataH, labelSize)
	tickSize := min(vg.Points(13), max(vg.Points(9), dataH/5))
	p.X.Tick.Label.Font.Size, p.Y.Tick.Label.Font.Size = vg.Points(13), tickSize
	unit := timeUnitFor(xMax)
	p.Y.Tick.Marker, p.X.Tick.Marker = wholeTicks{}, timeTicks{unit}
	if !bottom {
		// The panels share the time axis: its figures under the last panel only.
		p.X.Tick.Marker = unlabelled{timeTicks{unit}}
	}
	if bottom {
		p.X.Label.Text = unit.long + " since start"
		p.X.Label.TextStyle.Font.Size = vg.Points(15)
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 0xe4}
	grid.Horizontal.Color = color.Gray{Y: 0xe4}
	p.Add(grid)
	var maxY float64
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			for _, pt := range m.series(run) {
				maxY = math.Max(maxY, pt.Y)
			}
			if m.peak != nil {
				if _, v, ok := m.peak(run); ok {
					maxY = math.Max(maxY, v)
				}
			}
		}
	}
	limit := 0.0
	if m.key == "cgroup" {
		limit = mib(r.Plan.MemoryLimitBytes)
		maxY = math.Max(maxY, limit)
	}
	if maxY == 0 {
		maxY = 1
	}
	yTop := maxY * 1.18
	if _, err := shadeLoadPhases(p, r, yTop); err != nil {
		return nil, err
	}
	if top {
		if err := labelPhases(p, r, yTop); err != nil {
			return nil, err
		}
	}
	if err := markEvents(p, r, yTop, top); err != nil {
		return nil, err
	}
	for i, t := range r.Targets {
		for ri, run := range t.Runs {
			pts := m.series(run)
			if len(pts) == 0 {
				continue
			}
			for _, seg := range loadSegments(m.key, pts) {
				line, err := plotter.NewLine(envelope(seg, 0, xMax, envelopeColumns))
				if err != nil {
					return nil, err
				}
				line.Color, line.Width = Palette[i%len(Palette)], vg.Points(2.5)
				if ri > 0 {
					line.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
				}
				p.Add(line)
			}
			if m.peak != nil && ri == 0 {
				if err := markPeak(p, m, run, Palette[i%len(Palette)]); err != nil {
					return nil, err
				}
			}
		}
	}
	if limit > 0 {
		if err := markLimit(p, limit, xMax); err != nil {
			return nil, err
		}
	}
	p.Y.Min, p.Y.Max = 0, yTop
	p.X.Min, p.X.Max = 0, xMax
	return p, nil
}

// axisLabel is a panel's axis label and its size, at most largest, set to fit along the
// panel's height: the full label where it fits, else the metric's short name, smaller.
func axisLabel(m chartMetric, room, largest vg.Length) (string, vg.Length) {
	full := fmt.Sprintf("%s (%s)", m.label, m.unit)
	short := fmt.Sprintf("%s (%s)", m.name, m.unit)
	if m.name == m.unit {
		short = m.unit
	}
	room = room * 9 / 10
	for _, label := range []string{full, short} {
		for size := largest; size >= vg.Points(10); size -= vg.Points(1) {
			if textStyle(size).Width(label) <= room {
				return label, size
			}
		}
	}
	size := min(largest, vg.Points(10))
	if w := textStyle(size).Width(short); w > 0 {
		size = max(vg.Points(6), min(size, size*room/w))
	}
	return short, size
}

// unlabelled is a Ticker's ticks without their labels.
type unlabelled struct{ plot.Ticker }

func (u unlabelled) Ticks(lo, hi float64) []plot.Tick {
	ticks := u.Ticker.Ticks(lo, hi)
	for i := range ticks {
		ticks[i].Label = ""
	}
	return ticks
}

// markLimit draws the cgroups' memory limit across the panel, labelled.
func markLimit(p *plot.Plot, limit, xMax float64) error {
	line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: limit}, {X: xMax, Y: limit}})
	if err != nil {
		return err
	}
	line.Color, line.Width, line.Dashes = color.Black, vg.Points(1.5), []vg.Length{vg.Points(8), vg.Points(4)}
	label, err := textLabels(plotter.XYs{{X: 0, Y: limit}}, []string{fmt.Sprintf("limit %.0f MiB", limit)}, textStyle(12), vg.Point{X: vg.Points(4), Y: vg.Points(3)})
	if err != nil {
		return err
	}
	p.Add(line, label)
	return nil
}

func markPeak(p *plot.Plot, m chartMetric, run record.TargetRun, c color.Color) error {
	at, v, ok := m.peak(run)
	if !ok {
		return nil
	}
	dot, err := plotter.NewScatter(plotter.XYs{{X: at, Y: v}})
	if err != nil {
		return err
	}
	// The value is in the legend: labels beside close peaks would overprint each other.
	dot.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(6), Shape: draw.RingGlyph{}}
	p.Add(dot)
	return nil
}

// labelPhases writes baseline, load and cooldown over their spans (the first target's).
func labelPhases(p *plot.Plot, r *record.Record, yTop float64) error {
	if len(r.Targets) == 0 || len(r.Targets[0].Runs) == 0 {
		return nil
	}
	ph := r.Targets[0].Runs[0].Phases
	var xys plotter.XYs
	var names []string
	add := func(from, to float64, name string) {
		if to > from {
			xys = append(xys, plotter.XY{X: (from + to) / 2, Y: yTop})
			names = append(names, name)
		}
	}
	start, load, end, done := ph.Start.Seconds(), ph.LoadStart.Seconds(), ph.LoadEnd.Seconds(), ph.CooldownEnd.Seconds()
	if cycles := r.Targets[0].Runs[0].Cycles; len(cycles) >= 2 {
		// Each cycle's load is shaded: its number above it, "cycle k" where there is room.
		// The baseline, seconds beside cycles of minutes, would only crowd the first.
		for _, c := range cycles {
			name := strconv.Itoa(c.Index)
			if len(cycles) <= 8 {
				name = "cycle " + name
			}
			add(c.LoadStart.Seconds(), c.LoadEnd.Seconds(), name)
		}
	} else if ph.LoadStart > 0 {
		add(start, load, "baseline")
		if ph.LoadEnd > 0 {
			add(load, end, "load")
			if ph.CooldownEnd > 0 {
				add(end, done, "cooldown")
				if ph.PurgeEnd > 0 {
					add(done, ph.PurgeEnd.Seconds(), "purge")
				}
			}
		}
	}
	if len(xys) == 0 {
		return nil
	}
	style := textStyle(13)
	style.Color, style.XAlign, style.YAlign = color.Gray{Y: 0x55}, draw.XCenter, draw.YTop
	labels, err := textLabels(xys, names, style, vg.Point{Y: -vg.Points(3)})
	if err != nil {
		return err
	}
	p.Add(labels)
	return nil
}

// chartEvents are the events a chart marks on its time axis.
var chartEvents = map[record.EventKind]string{"oom-kill": "OOM", "crash": "crash", "pause": "pause", "resume": "resume", "purge": "purge"}

// eventColor draws events: their lines, labels and legend entry.
var eventColor = color.RGBA{R: 0x99, G: 0x22, B: 0x22, A: 0xff}

// textLabels writes names at xys, all in one style, offset from their points.
func textLabels(xys plotter.XYs, names []string, style text.Style, offset vg.Point) (*plotter.Labels, error) {
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: names})
	if err != nil {
		return nil, err
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i] = style
	}
	labels.Offset = offset
	return labels, nil
}

func markEvents(p *plot.Plot, r *record.Record, yTop float64, labelled bool) error {
	var xys plotter.XYs
	var names []string
	for _, ev := range r.Events {
		what, ok := chartEvents[ev.Kind]
		if !ok {
			continue
		}
		x := ev.T.Seconds()
		line, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: yTop}})
		if err != nil {
			return err
		}
		line.Color, line.Width, line.Dashes = eventColor, vg.Points(1.5), []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(line)
		if ev.Target != "" {
			what += " " + ev.Target
		}
		// Events close in time would overprint: each label a line lower than the last.
		xys = append(xys, plotter.XY{X: x, Y: yTop * (0.88 - 0.09*float64(len(xys)%6))})
		names = append(names, what)
	}
	if !labelled || len(xys) == 0 {
		return nil
	}
	style := textStyle(12)
	style.Color = eventColor
	labels, err := textLabels(xys, names, style, vg.Point{X: vg.Points(4)})
	if err != nil {
		return err
	}
	p.Add(labels)
	return nil
}

// chartLegend names each lane with its exact peak of the first metric, then the marks.
func chartLegend(r *record.Record, first chartMetric, height vg.Length) plot.Legend {
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.TextStyle = textStyle(15)
	l.Padding = vg.Points(6)
	// Every lane must have its entry: with many, the entries get smaller to fit.
	entries := vg.Length(len(r.Targets) + 2)
	if row := l.TextStyle.Height("Xg") + l.Padding; row*entries > height {
		l.Padding = min(l.Padding, height/entries/5)
		l.TextStyle = textStyle(max(vg.Points(5), 15*(height/entries-l.Padding)/l.TextStyle.Height("Xg")))
		l.ThumbnailWidth = min(l.ThumbnailWidth, 2*l.TextStyle.Font.Size)
	}
	for i, name := range legendNames(r, first) {
		l.Add(name, &plotter.Line{LineStyle: draw.LineStyle{Color: Palette[i%len(Palette)], Width: vg.Points(4)}})
	}
	l.Add("load phase", &swatch{color.RGBA{R: 0xee, G: 0xee, B: 0xee, A: 0xff}})
	for _, ev := range r.Events {
		if _, ok := chartEvents[ev.Kind]; ok {
			l.Add("event", &plotter.Line{LineStyle: draw.LineStyle{Color: eventColor, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}})
			break
		}
	}
	return l
}

// legendWidth is what the legend's longest entry needs, at most a third of the slide.
func legendWidth(l plot.Legend, r *record.Record, first chartMetric) vg.Length {
	w := l.TextStyle.Width("load phase")
	for _, name := range legendNames(r, first) {
		w = max(w, l.TextStyle.Width(name))
	}
	// A third more than measured: an SVG viewer without the Liberation fonts sets the
	// text in a wider face (rsvg-convert used DejaVu, and cut the entries short).
	return min(w*4/3+l.ThumbnailWidth+vg.Points(36), slideWidth/3)
}

// legendNames are the lanes' legend entries: each with the first metric's exact peak.
func legendNames(r *record.Record, first chartMetric) []string {
	names := make([]string, len(r.Targets))
	for i, t := range r.Targets {
		names[i] = t.Name
		if first.peak != nil && len(t.Runs) > 0 {
			if _, v, ok := first.peak(t.Runs[0]); ok {
				names[i] += fmt.Sprintf(" · peak %.1f %s", v, first.unit)
			}
		}
	}
	return names
}

// fromFirstStart shifts every time in a copy of r so that 0 is when the first server
// started: a run whose build took half a minute would otherwise start its chart there.
func fromFirstStart(r *record.Record) *record.Record {
	origin := time.Duration(-1)
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			if origin < 0 || run.Phases.Start < origin {
				origin = run.Phases.Start
			}
		}
	}
	if origin <= 0 {
		return r
	}
	c := r.Clone()
	shift := func(d *time.Duration) {
		if *d != 0 {
			*d -= origin
		}
	}
	for i := range c.Targets {
		for j := range c.Targets[i].Runs {
			run := &c.Targets[i].Runs[j]
			run.Phases.Start -= origin
			shift(&run.Phases.LoadStart)
			shift(&run.Phases.LoadEnd)
			shift(&run.Phases.CooldownEnd)
			shift(&run.Phases.PurgeEnd)
			for k := range run.Cycles {
				shift(&run.Cycles[k].LoadStart)
				shift(&run.Cycles[k].LoadEnd)
				shift(&run.Cycles[k].IdleEnd)
			}
			for k := range run.Samples {
				run.Samples[k].T -= origin
			}
			for k := range run.Heap {
				run.Heap[k].T -= origin
			}
			for k := range run.Load {
				run.Load[k].T -= origin
			}
		}
	}
	for k := range c.Events {
		c.Events[k].T -= origin
	}
	return c
}

// wholeTicks puts about five ticks at 1, 2 or 5 times a power of ten, never finer than
// one whole unit, labelled without trailing zeros: 0, 50, 100, not 0.00, 50.00.
type wholeTicks struct{}

func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if span <= 0 {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'f', -1, 64)}}
	}
	raw := span / 5
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := pow
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	step = math.Max(step, 1)
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}
