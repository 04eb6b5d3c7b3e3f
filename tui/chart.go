package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/NimbleMarkets/ntcharts/linechart/wavelinechart"
	"github.com/allocscope/allocscope/record"
	"github.com/charmbracelet/lipgloss"
)

// chart draws the shared time series: one line per target over the chosen window,
// with a ruler of the phase boundaries under it.
func (m Model) chart() string {
	met := metrics[m.metric]
	title := bold.Render(fmt.Sprintf("%s (%s)", met.name, met.unit)) + faint.Render(" · "+m.windowLabel()+" · m: metric, +/-: window, c: full chart") + "  "
	for i, t := range m.rec.Targets {
		title += lipgloss.NewStyle().Foreground(targetColor(i)).Render("■ "+t.Name) + " "
	}
	g := m.graph(m.width, m.layout.chartHeight)
	return fit(title, m.width) + "\n" + g.view + "\n" + m.ruler(g.origin, g.width, g.x0, g.x1)
}

// bigChart is the chart alone over the whole screen, for a projector: the metric, the
// phases and events on its time axis, and a legend with each lane's value now and its
// peak (exact where the kernel keeps one).
func (m Model) bigChart() string {
	met := metrics[m.metric]
	title := bold.Render(fmt.Sprintf("%s (%s)", met.name, met.unit)) + faint.Render(" · "+m.windowLabel()+" · m: metric, +/-: window, c: panels")
	legend := m.legendLines()
	g := m.graph(m.width, max(m.height-fixedRows-len(legend), 4))
	return fit(title, m.width) + "\n" + g.view + "\n" + m.ruler(g.origin, g.width, g.x0, g.x1) + "\n" + strings.Join(legend, "\n")
}

func (m Model) windowLabel() string {
	if win := windows[m.window]; win > 0 {
		return "last " + win.String()
	}
	return "whole run"
}

// legendLines are the full chart's legend: per lane "■ name  now X  peak Y", packed
// into as few lines as the width allows.
func (m Model) legendLines() []string {
	met := metrics[m.metric]
	at := m.at()
	var lines []string
	line, used := "", 0
	for i, t := range m.rec.Targets {
		entry := "■ " + t.Name
		if len(t.Runs) > 0 {
			run := t.Runs[len(t.Runs)-1]
			ps := upTo(met.series(run), at)
			if n := len(ps); n > 0 {
				entry += fmt.Sprintf("  now %s", short(ps[n-1].v, met.unit))
			}
			if label, v, ok := m.peakOf(t, run, ps); ok {
				entry += fmt.Sprintf("  %s %s", label, short(v, met.unit))
			}
		}
		w := lipgloss.Width(entry)
		styled := lipgloss.NewStyle().Foreground(targetColor(i)).Bold(true).Render(entry)
		if used > 0 && used+3+w > m.width {
			lines = append(lines, line)
			line, used = "", 0
		}
		if used > 0 {
			line += "   "
			used += 3
		}
		line += styled
		used += w
	}
	if used > 0 {
		lines = append(lines, line)
	}
	for i := range lines {
		lines[i] = fit(lines[i], m.width)
	}
	return lines
}

// peakOf is the legend's peak of the current metric: the kernel's for RSS and a cgroup
// ("peak"), else the largest value shown ("max").
func (m Model) peakOf(t record.Target, run record.TargetRun, ps []point) (string, float64, bool) {
	switch metrics[m.metric].name {
	case "RSS":
		if v := m.targetView(t).peak; v > 0 {
			return "peak", v / (1 << 20), true
		}
	case "cgroup":
		if run.Cgroup != nil && run.Cgroup.PeakBytes > 0 {
			return "peak", float64(run.Cgroup.PeakBytes) / (1 << 20), true
		}
	}
	if len(ps) == 0 {
		return "", 0, false
	}
	top := ps[0].v
	for _, p := range ps {
		top = math.Max(top, p.v)
	}
	return "max", top, true
}

// graph is a drawn chart and where its graph area lies, for the ruler under it.
type graph struct {
	view          string
	origin, width int
	x0, x1        float64
}

// graph draws every lane's series of the current metric over the window, w×h cells.
// It is rebuilt from the window's points each frame: ntcharts keeps every point it is
// given, so feeding it the whole run would grow without bound.
func (m Model) graph(w, h int) graph {
	met := metrics[m.metric]
	win := windows[m.window]
	at := m.at()
	series := make([][]point, len(m.rec.Targets))
	var tmax time.Duration
	for i, t := range m.rec.Targets {
		if len(t.Runs) == 0 {
			continue
		}
		ps := met.series(t.Runs[len(t.Runs)-1])
		if m.mode == modeReplay {
			ps = upTo(ps, at)
		}
		series[i] = ps
		if n := len(ps); n > 0 && ps[n-1].t > tmax {
			tmax = ps[n-1].t
		}
	}
	from := time.Duration(0)
	if win > 0 && tmax > win {
		from = tmax - win
	}
	top := 0.0
	for _, ps := range series {
		for _, p := range ps {
			if p.t >= from {
				top = math.Max(top, p.v)
			}
		}
	}
	if top <= 0 {
		top = 1
	}
	top *= 1.1
	x0, x1 := from.Seconds(), math.Max(tmax.Seconds(), from.Seconds()+1)
	c := wavelinechart.New(w, h, wavelinechart.WithXYRange(x0, x1, 0, top), wavelinechart.WithXYSteps(4, 2))
	names := make([]string, 0, len(series))
	gw := max(c.GraphWidth(), 2)
	for i, ps := range series {
		name := fmt.Sprintf("t%d", i)
		c.SetDataSetStyles(name, runes.ArcLineStyle, lipgloss.NewStyle().Foreground(targetColor(i)))
		// wavelinechart joins one value per column and drops to zero in empty columns:
		// give it every column of the series' span, interpolated between samples.
		for col := 0; col < gw; col++ {
			x := x0 + float64(col)*(x1-x0)/float64(gw-1)
			if v, ok := interpolate(ps, x); ok {
				c.PlotDataSet(name, canvas.Float64Point{X: x, Y: v})
			}
		}
		names = append(names, name)
	}
	c.DrawDataSets(names)
	return graph{view: c.View(), origin: c.Origin().X, width: c.GraphWidth(), x0: x0, x1: x1}
}

// ruler marks where the phases begin under the chart's graph area.
func (m Model) ruler(origin, width int, x0, x1 float64) string {
	if width <= 1 || len(m.rec.Targets) == 0 || len(m.rec.Targets[0].Runs) == 0 {
		return ""
	}
	ph := m.rec.Targets[0].Runs[len(m.rec.Targets[0].Runs)-1].Phases
	line := []rune(strings.Repeat("─", width))
	col := func(t time.Duration) int {
		return int(math.Round((t.Seconds() - x0) / (x1 - x0) * float64(width-1)))
	}
	mark := func(t time.Duration, label string) {
		if t == 0 {
			return
		}
		c := col(t)
		if c < 0 || c >= width {
			return
		}
		line[c] = '┃'
		for i, r := range label {
			if c+1+i < width {
				line[c+1+i] = r
			}
		}
	}
	start := "baseline"
	if ph.LoadStart > 0 && col(ph.LoadStart) <= len(start) {
		start = ""
	}
	for i, r := range start {
		if i < width {
			line[i] = r
		}
	}
	mark(ph.LoadStart, "load")
	mark(ph.LoadEnd, "cooldown")
	mark(ph.CooldownEnd, "end")
	// Pauses and purges are events on the time axis too.
	for _, ev := range m.rec.Events {
		if label, ok := rulerEvents[ev.Kind]; ok && ev.T <= m.at() {
			mark(ev.T, label)
			if c := col(ev.T); c >= 0 && c < width {
				line[c] = '┊'
			}
		}
	}
	// An OOM kill or a crash is an event on the time axis, where it happened.
	for _, t := range m.rec.Targets {
		if len(t.Runs) == 0 {
			continue
		}
		if ex := t.Runs[len(t.Runs)-1].Exit; ex.Crashed() && ex.T <= m.at() {
			what := "crash "
			if ex.OOM != nil {
				what = "OOM "
			}
			mark(ex.T, what+t.Name)
			if c := col(ex.T); c >= 0 && c < width {
				line[c] = '✗'
			}
		}
	}
	if m.mode == modeReplay {
		if c := col(m.cursor); c >= 0 && c < width {
			line[c] = '▲'
		}
	}
	return strings.Repeat(" ", origin) + faint.Render(string(line))
}

// rulerEvents are the events the ruler marks besides the phases, OOM kills and crashes.
var rulerEvents = map[string]string{"pause": "pause", "resume": "resume", "purge": "purge"}

// interpolate is the series' value at x seconds, between its first and last points.
func interpolate(ps []point, x float64) (float64, bool) {
	if len(ps) == 0 || x < ps[0].t.Seconds() || x > ps[len(ps)-1].t.Seconds() {
		return 0, false
	}
	for i := 1; i < len(ps); i++ {
		a, b := ps[i-1], ps[i]
		if x <= b.t.Seconds() {
			span := b.t.Seconds() - a.t.Seconds()
			if span <= 0 {
				return b.v, true
			}
			f := (x - a.t.Seconds()) / span
			return a.v + f*(b.v-a.v), true
		}
	}
	return ps[len(ps)-1].v, true
}
