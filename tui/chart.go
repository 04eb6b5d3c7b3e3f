package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/units"
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
	switch metrics[m.metric].key {
	case "rss":
		if v := m.targetView(t).peak; v > 0 {
			return "peak", units.InMiB(v), true
		}
	case "cgroup":
		if run.Cgroup != nil && run.Cgroup.PeakBytes > 0 {
			return "peak", units.InMiB(float64(run.Cgroup.PeakBytes)), true
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

// graph draws every lane's series of the current metric over the window, w×h cells,
// in the style of ntcharts' wave line chart: one value per column, joined by arcs. It
// draws on a canvas kept across frames (m.surface): building an ntcharts chart anew each
// second allocated two canvases of styled cells, 3.5 MB a frame, and the garbage cost as
// much CPU as the drawing.
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

	sf := m.surface.resize(w, h)
	gh := max(h-2, 2) // the graph's rows, above the x axis and its labels
	yLabel := func(v float64) string {
		if top >= 10 {
			return strconv.FormatFloat(v, 'f', 0, 64)
		}
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	axis := len(yLabel(top)) // the y axis's column, right of its labels
	gw := max(w-axis-1, 2)
	for row := 0; row < gh; row++ {
		sf.set(axis, row, '│', -1)
		if (gh-1-row)%3 == 0 {
			label := yLabel(top * float64(gh-1-row) / float64(gh-1))
			sf.text(axis-len(label), row, label)
		}
	}
	sf.set(axis, gh, '└', -1)
	for x := axis + 1; x < w; x++ {
		sf.set(x, gh, '─', -1)
	}
	// Time labels at whole units, 1, 2 or 5 times a power of ten apart, ten columns or
	// more; the unit follows the span (seconds, minutes, hours) and, past seconds, is
	// named after the last label: "0 5 10 min".
	perCol := (x1 - x0) / float64(gw-1)
	unit, unitName := timeUnit(x1 - x0)
	every := 1.0
	for k := 0; every*unit/perCol < 10; k++ {
		every = []float64{1, 2, 5}[k%3] * math.Pow(10, float64(k/3))
	}
	lastEnd := -1
	for t := math.Ceil(x0/unit/every) * every; t*unit <= x1; t += every {
		label, x := strconv.FormatFloat(t, 'f', 0, 64), axis+1+int(math.Round((t*unit-x0)/perCol))
		if x+len(label) <= w { // a label cut at the edge would read as another number
			sf.text(x, gh+1, label)
			lastEnd = x + len(label)
		}
	}
	if unitName != "" && lastEnd > 0 && lastEnd+1+len(unitName) <= w {
		sf.text(lastEnd+1, gh+1, unitName)
	}
	rowOf := func(v float64) int { return min(max(gh-1-int(math.Round(v/top*float64(gh-1))), 0), gh-1) }
	for i, ps := range series {
		if cols, dense := envelope(ps, x0, x1, gw); dense {
			drawEnvelope(sf, cols, axis+1, i, rowOf)
			continue
		}
		prev := -1
		for col := 0; col < gw; col++ {
			v, ok := interpolate(ps, x0+float64(col)*(x1-x0)/float64(gw-1))
			if !ok {
				prev = -1
				continue
			}
			row := rowOf(v)
			x := axis + 1 + col
			switch {
			case prev < 0 || prev == row:
				sf.set(x, row, '─', i)
			case row < prev:
				sf.set(x, prev, '╯', i)
				for r := row + 1; r < prev; r++ {
					sf.set(x, r, '│', i)
				}
				sf.set(x, row, '╭', i)
			default:
				sf.set(x, prev, '╮', i)
				for r := prev + 1; r < row; r++ {
					sf.set(x, r, '│', i)
				}
				sf.set(x, row, '╰', i)
			}
			prev = row
		}
	}
	return graph{view: sf.view(), origin: axis + 1, width: gw, x0: x0, x1: x1}
}

// surface is the chart's drawing surface, kept across frames and cleared in place: a
// rune and a lane (-1: none) per cell. ntcharts' canvas, used before, keeps a lipgloss
// style per cell, and reading a cell's colour back cost more than drawing it.
type surface struct {
	w, h  int
	runes []rune
	lanes []int
}

// resize clears the surface for a w×h frame, allocating only when the size changed.
func (s *surface) resize(w, h int) *surface {
	if s.w != w || s.h != h {
		s.w, s.h = w, h
		s.runes, s.lanes = make([]rune, w*h), make([]int, w*h)
	}
	for i := range s.runes {
		s.runes[i], s.lanes[i] = ' ', -1
	}
	return s
}

// set puts r at (x, y) in lane's colour (-1: none); off the surface, nothing.
func (s *surface) set(x, y int, r rune, lane int) {
	if x < 0 || y < 0 || x >= s.w || y >= s.h {
		return
	}
	s.runes[y*s.w+x], s.lanes[y*s.w+x] = r, lane
}

func (s *surface) text(x, y int, t string) {
	for i, r := range []rune(t) {
		s.set(x+i, y, r, -1)
	}
}

// view draws the surface one run of same-coloured cells at a time.
func (s *surface) view() string {
	var b strings.Builder
	b.Grow(s.w*s.h*3 + s.h*32)
	inks := map[int]ink{-1: {}}
	inkOf := func(lane int) ink {
		k, ok := inks[lane]
		if !ok {
			k = laneInk(lane, false)
			inks[lane] = k
		}
		return k
	}
	for y := 0; y < s.h; y++ {
		if y > 0 {
			b.WriteByte('\n')
		}
		row, lanes := s.runes[y*s.w:(y+1)*s.w], s.lanes[y*s.w:(y+1)*s.w]
		for x := 0; x < s.w; {
			k := inkOf(lanes[x])
			end := x + 1
			for end < s.w && (lanes[end] == lanes[x] || inkOf(lanes[end]).same(k)) {
				end++
			}
			b.WriteString(k.pre)
			for _, r := range row[x:end] {
				b.WriteRune(r)
			}
			b.WriteString(k.post)
			x = end
		}
	}
	return b.String()
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
	if ph.PurgeEnd > 0 {
		// The purge event marks where the purge phase starts; the phase ends here.
		mark(ph.PurgeEnd, "end")
	} else {
		mark(ph.CooldownEnd, "end")
	}
	// Pauses are events on the time axis too.
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
var rulerEvents = map[record.EventKind]string{"pause": "pause", "resume": "resume", "purge": "purge"}

// timeUnit is the time axis's unit in seconds, and its name where it is not seconds:
// minutes from 10 minutes of span, hours from 5 hours.
func timeUnit(spanSeconds float64) (float64, string) {
	switch {
	case spanSeconds < 600:
		return 1, ""
	case spanSeconds < 5*3600:
		return 60, "min"
	}
	return 3600, "h"
}

// column is one chart column's share of a series: its lowest, highest and last values.
type column struct {
	lo, hi, last float64
	ok           bool
}

// envelope reduces a series with more points in [x0, x1] than the chart has columns to
// each column's lowest, highest and last values, in one pass: interpolating a value per
// column would drop every spike between two columns (and cost a scan per column), so
// a long run's chart would show less than it measured. dense is false for a sparser
// series, which is drawn by interpolation.
func envelope(ps []point, x0, x1 float64, width int) (cols []column, dense bool) {
	n := 0
	for _, p := range ps {
		if t := p.t.Seconds(); t >= x0 && t <= x1 {
			n++
		}
	}
	if n <= width || width < 2 || x1 <= x0 {
		return nil, false
	}
	cols = make([]column, width)
	for _, p := range ps {
		t := p.t.Seconds()
		if t < x0 || t > x1 {
			continue
		}
		c := &cols[min(int(math.Round((t-x0)/(x1-x0)*float64(width-1))), width-1)]
		if !c.ok {
			*c = column{lo: p.v, hi: p.v, ok: true}
		}
		c.lo, c.hi, c.last = math.Min(c.lo, p.v), math.Max(c.hi, p.v), p.v
	}
	return cols, true
}

// drawEnvelope draws each column as a bar from its lowest to its highest value, joined
// to the column before it.
func drawEnvelope(sf *surface, cols []column, x0, lane int, rowOf func(float64) int) {
	prev := -1
	for col, c := range cols {
		if !c.ok {
			prev = -1
			continue
		}
		top, bottom := rowOf(c.hi), rowOf(c.lo)
		if prev >= 0 {
			top, bottom = min(top, prev), max(bottom, prev)
		}
		if top == bottom {
			sf.set(x0+col, top, '─', lane)
		} else {
			for r := top; r <= bottom; r++ {
				sf.set(x0+col, r, '│', lane)
			}
		}
		prev = rowOf(c.last)
	}
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
