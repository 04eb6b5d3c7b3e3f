package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/NimbleMarkets/ntcharts/linechart/wavelinechart"
	"github.com/charmbracelet/lipgloss"
)

// chart draws the shared time series: one line per target over the chosen window,
// with a ruler of the phase boundaries under it. The chart is rebuilt from the
// window's points each frame: ntcharts keeps every point it is given, so feeding it
// the whole run would grow without bound.
func (m Model) chart() string {
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

	winLabel := "whole run"
	if win > 0 {
		winLabel = "last " + win.String()
	}
	title := bold.Render(fmt.Sprintf("%s (%s)", met.name, met.unit)) + faint.Render(" · "+winLabel+" · m: metric, +/-: window") + "  "
	for i, t := range m.rec.Targets {
		title += lipgloss.NewStyle().Foreground(targetColor(i)).Render("■ "+t.Name) + " "
	}
	title = fit(title, m.width)

	h := m.layout.chartHeight
	c := wavelinechart.New(m.width, h, wavelinechart.WithXYRange(x0, x1, 0, top), wavelinechart.WithXYSteps(4, 2))
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
	return title + "\n" + c.View() + "\n" + m.ruler(c.Origin().X, c.GraphWidth(), x0, x1)
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
