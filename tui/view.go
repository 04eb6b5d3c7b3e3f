package tui

import (
	"fmt"
	"image/color"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	"github.com/allocscope/allocscope/units"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// applyColorPolicy honours NO_COLOR (no-color.org).
func applyColorPolicy() {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
}

func hex(c color.RGBA) lipgloss.Color {
	return termColor(fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B))
}

// termColors caches each hex colour as the terminal's profile draws it.
var termColors sync.Map

// termColor is a hex colour as a 256- or 16-colour terminal draws it, converted once:
// termenv converts a hex colour on every Render by searching the 256-colour palette in
// HSLuv, which was a third of each frame's cost in tmux (a 256-colour terminal).
func termColor(h string) lipgloss.Color {
	p := lipgloss.ColorProfile()
	if p != termenv.ANSI256 && p != termenv.ANSI {
		return lipgloss.Color(h)
	}
	key := fmt.Sprint(p, h)
	if c, ok := termColors.Load(key); ok {
		return c.(lipgloss.Color)
	}
	out := lipgloss.Color(h)
	switch c := p.Color(h).(type) {
	case termenv.ANSI256Color:
		out = lipgloss.Color(strconv.Itoa(int(c)))
	case termenv.ANSIColor:
		out = lipgloss.Color(strconv.Itoa(int(c)))
	}
	termColors.Store(key, out)
	return out
}

// targetColor gives target i the same colour as in the SVG export.
func targetColor(i int) lipgloss.Color { return hex(report.Palette[i%len(report.Palette)]) }

var (
	bold   = lipgloss.NewStyle().Bold(true)
	faint  = lipgloss.NewStyle().Faint(true)
	warn   = lipgloss.NewStyle().Foreground(termColor("#d62728")).Bold(true)
	phaseC = map[record.Phase]lipgloss.Color{
		record.PhaseBaseline: "#7f7f7f", record.PhaseLoad: "#ff7f0e", record.PhaseCooldown: "#1f77b4", record.PhaseDone: "#2ca02c",
	}
)

// View renders the whole screen.
func (m Model) View() string {
	if m.width == 0 {
		return "allocscope: starting…"
	}
	if m.tooSmall() {
		return fit(fmt.Sprintf("terminal too small: %d×%d, allocscope needs %d×%d", m.width, m.height, minWidth, minHeight), m.width)
	}
	if m.rec == nil {
		return m.header() + "\n\n  starting the servers…\n\n" + m.footer()
	}
	return m.header() + "\n" + m.body + "\n" + m.footer()
}

// renderBody renders everything between the header and the footer.
func (m Model) renderBody() string {
	if m.width == 0 || m.rec == nil || m.tooSmall() {
		return ""
	}
	if m.mode == modeSummary {
		return m.summary()
	}
	if m.fullChart {
		return m.bigChart()
	}
	return m.panels() + "\n" + m.chart()
}

// The smallest terminal the view lays out in; below it, it says so instead of drawing
// charts that have no room (ntcharts panics on a canvas of no width).
const (
	minWidth  = 30
	minHeight = 10
)

func (m Model) tooSmall() bool { return m.width < minWidth || m.height < minHeight }

func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r))+1 > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

func (m Model) header() string {
	title := bold.Render("allocscope")
	if m.rec == nil {
		return title + "\n"
	}
	p := m.rec.Plan
	var names []string
	for i, t := range m.rec.Targets {
		names = append(names, lipgloss.NewStyle().Foreground(targetColor(i)).Render(t.Name))
	}
	what := p.Scenario
	if what == "" {
		what = "path"
	}
	line1 := fmt.Sprintf("%s │ %s │ %s GET %s │ c=%d d=%s", title, strings.Join(names, " · "), what, p.Path, p.Connections, p.Duration)
	if p.Scenario == record.ScenarioWatch {
		line1 = fmt.Sprintf("%s │ watching %s │ every %s", title, strings.Join(names, " · "), p.Interval)
	}
	if p.Rate > 0 {
		line1 += fmt.Sprintf(" R=%g/s", p.Rate)
	}
	if p.Runs > 1 {
		line1 += fmt.Sprintf(" runs=%d", p.Runs)
	}
	if sw := p.Sweep; sw != nil {
		line1 += fmt.Sprintf(" │ step %d/%d %s", m.currentStep()+1, len(sw.Values), sw.Label(m.currentStep()))
	}
	if c := report.CycleLabel(m.rec, m.offset()); c != "" {
		line1 += " │ " + c
	}
	if mc := m.rec.Machine; mc.THP != "" {
		line1 += fmt.Sprintf(" │ THP %s, overcommit %s", mc.THP, strings.Fields(mc.OvercommitMode + " ?")[0])
	}
	return fit(line1, m.width) + "\n" + fit(m.progress(), m.width)
}

// planned is how long the whole plan takes.
func planned(p record.Plan, targets int) time.Duration {
	if p.Scenario == record.ScenarioWatch {
		return p.Duration
	}
	groups := 1
	if p.Sequential {
		groups = max(targets, 1)
	}
	cycle := p.Duration + p.Cooldown
	if n := report.PlannedCycles(p); n > 0 {
		cycle = time.Duration(n) * (p.Duration + p.Idle)
	}
	return time.Duration(max(p.Runs, 1)) * (p.Baseline + time.Duration(groups)*cycle)
}

// offset is the moment shown as an offset from the record's start: the cursor in a
// replay, else now.
func (m Model) offset() time.Duration {
	if m.mode == modeReplay {
		return m.cursor
	}
	if m.now.IsZero() || m.rec.Started.IsZero() {
		return 0
	}
	return m.now.Sub(m.rec.Started)
}

func (m Model) progress() string {
	phase := m.phase
	if m.mode == modeReplay {
		total := end(m.rec)
		frac := 0.0
		if total > 0 {
			frac = float64(m.cursor) / float64(total)
		}
		ph := record.PhaseDone
		if t := m.rec.Targets; len(t) > 0 && len(t[0].Runs) > 0 {
			ph = t[0].Runs[0].Phases.PhaseAt(m.cursor)
		}
		return fmt.Sprintf("REPLAY %-8s %s t=%.1fs of %.1fs  (%s)", strings.ToUpper(string(ph)), bar(frac, 20), m.cursor.Seconds(), total.Seconds(), m.rec.State) + m.busyNote()
	}
	total := planned(m.rec.Plan, len(m.rec.Targets))
	elapsed := time.Duration(0)
	if !m.now.IsZero() && !m.rec.Started.IsZero() {
		elapsed = m.now.Sub(m.rec.Started)
	}
	if m.rec.Plan.Scenario == record.ScenarioWatch && m.rec.Plan.Duration == 0 {
		return fmt.Sprintf("%s %s  (q stops)", bold.Render("WATCH"), elapsed.Round(time.Second))
	}
	if m.mode == modeSummary {
		elapsed = total
	}
	frac := 0.0
	if total > 0 {
		frac = min(float64(elapsed)/float64(total), 1)
	}
	left := max(total-elapsed, 0).Round(time.Second)
	s := lipgloss.NewStyle().Foreground(phaseC[phase]).Bold(true).Render(fmt.Sprintf("%-8s", strings.ToUpper(string(phase))))
	s += fmt.Sprintf(" %s %3.0f%%  %s left", bar(frac, 24), 100*frac, left)
	if m.paused {
		s += "  " + warn.Render("PAUSED (space resumes)")
	}
	if m.mode == modeStopping {
		s += "  stopping…"
	}
	return s + m.busyNote()
}

func bar(frac float64, w int) string {
	n := int(frac * float64(w))
	n = max(0, min(n, w))
	return "[" + strings.Repeat("█", n) + strings.Repeat("░", w-n) + "]"
}

// at is the moment shown: now when live, the cursor in a replay.
func (m Model) at() time.Duration {
	if m.mode == modeReplay {
		return m.cursor
	}
	return 1<<63 - 1
}

// view of one target at the moment shown.
type targetView struct {
	name, allocator, state string
	rss, peak, vsz, heap   float64
	heapKnown              bool
	reqs, p99              float64
	errors                 uint64
	rssSeries, vszSeries   []float64
	crashed                bool
	threads                int
	// cgroup is the target's memory cgroup usage, and its limit (0: none).
	cgroup, cgroupLimit float64
	oomKills            uint64
}

func (m Model) targetView(t record.Target) targetView {
	v := targetView{name: t.Name, allocator: t.Allocator, state: "starting"}
	if len(t.Runs) == 0 {
		return v
	}
	run := t.Runs[len(t.Runs)-1]
	at := m.at()
	v.state = fmt.Sprintf("pid %d running", run.PID)
	if t.Kind == record.KindRemote {
		v.state = "remote " + run.Addr
	}
	if run.Exit != nil && run.Exit.T <= at {
		v.crashed = run.Exit.Crashed()
		v.state = fmt.Sprintf("pid %d stopped", run.PID)
		if v.crashed {
			v.state = fmt.Sprintf("pid %d %s", run.PID, run.Exit)
		}
	}
	for _, s := range run.Samples {
		if s.T > at {
			break
		}
		v.rss, v.vsz = float64(s.RSSBytes), float64(s.VSZBytes)
		// VmHWM, reset at each phase's start, holds what rose and fell between samples.
		v.peak = max(v.peak, v.rss, float64(s.PeakRSSBytes))
		v.threads = s.Threads
		v.cgroup = float64(s.CgroupBytes)
		v.rssSeries = append(v.rssSeries, v.rss)
		v.vszSeries = append(v.vszSeries, v.vsz)
	}
	if run.Cgroup != nil {
		v.cgroupLimit, v.oomKills = float64(run.Cgroup.LimitBytes), run.Cgroup.Events.OOMKill
	}
	if run.Exit != nil || m.mode == modeSummary {
		for _, p := range run.Peaks {
			v.peak = max(v.peak, float64(p.Bytes))
		}
	}
	if v.threads > 0 {
		v.state += fmt.Sprintf(" · %d thr", v.threads)
	}
	for _, h := range run.Heap {
		if h.T > at {
			break
		}
		if h.AllocatedBytes != nil {
			v.heap, v.heapKnown = float64(*h.AllocatedBytes), true
		}
	}
	for _, l := range run.Load {
		if l.T > at {
			break
		}
		v.reqs, v.p99 = float64(l.Requests), float64(l.P99)/float64(time.Millisecond)
		v.errors += l.Errors + l.Non2xx
	}
	return v
}

func mib(b float64) string { return units.ShortMiBs(b) }

func (m Model) panels() string {
	l := m.layout
	if !l.sideBySide {
		var rows []string
		for i, t := range m.rec.Targets {
			v := m.targetView(t)
			name := lipgloss.NewStyle().Foreground(targetColor(i)).Bold(true).Render("■ " + v.name)
			if len(t.SettingIssues) > 0 {
				name += warn.Render(" ⚠")
			}
			// A line per lane has no room for the pid: only a crash is worth its width.
			state := ""
			if v.crashed {
				state = " " + warn.Render(v.state)
			}
			row := fmt.Sprintf("%s%s RSS %s pk %s VSZ %s %s/s p99 %s err %d %s", name, state, mib(v.rss), mib(v.peak), mib(v.vsz),
				short(v.reqs, ""), short(v.p99, "ms"), v.errors, spark(v.rssSeries, 12))
			rows = append(rows, fit(row, l.width))
		}
		return strings.Join(rows, "\n")
	}
	var cols [][]string
	inner := l.panelWidth - 2
	for i, t := range m.rec.Targets {
		v := m.targetView(t)
		c := targetColor(i)
		title := lipgloss.NewStyle().Foreground(c).Bold(true).Render(v.name)
		if v.allocator != "" && v.allocator != v.name {
			title += faint.Render(" · " + v.allocator)
		}
		state := v.state
		if v.crashed {
			state = warn.Render(state)
		}
		// A setting the allocator ignored makes the lane's name a lie: say so first.
		if len(t.SettingIssues) > 0 {
			state = warn.Render("⚠ setting ignored: " + t.SettingIssues[0])
		}
		heap := "heap n/a"
		if v.heapKnown {
			heap = fmt.Sprintf("heap %s of RSS %s", mib(v.heap), mib(v.rss))
		}
		lines := []string{
			title,
			state,
			fmt.Sprintf("RSS %s  peak %s", bold.Render(mib(v.rss)), mib(v.peak)),
			fmt.Sprintf("VSZ %s", mib(v.vsz)),
			heap,
			fmt.Sprintf("%s req/s  p99 %s", short(v.reqs, ""), short(v.p99, "ms")),
			fmt.Sprintf("errors %d", v.errors),
		}
		if cg := v.cgroupLine(); cg != "" {
			// The panel's height is fixed by the layout: the cgroup takes the errors'
			// line, and errors, when there are any, join the rate's.
			if v.errors > 0 {
				lines[len(lines)-2] += warn.Render(fmt.Sprintf("  err %d", v.errors))
			}
			lines[len(lines)-1] = cg
		}
		if l.panelLines >= 9 {
			lines = append(lines, "RSS "+lipgloss.NewStyle().Foreground(c).Render(spark(v.rssSeries, inner-4)), "VSZ "+spark(v.vszSeries, inner-4))
		}
		for j := range lines {
			lines[j] = fit(lines[j], inner)
		}
		cols = append(cols, box(lines, inner, l.panelLines, laneInk(i, false)))
	}
	if len(cols) > l.perRow {
		return lipgloss.JoinVertical(lipgloss.Left, joinBoxes(cols[:l.perRow]), joinBoxes(cols[l.perRow:]))
	}
	return joinBoxes(cols)
}

// box is lines (each at most inner wide) in a rounded border of the ink, at least height
// lines inside, as lipgloss's Border(RoundedBorder()).Width(inner).Height(height) draws
// it: lipgloss measured every line four times over, a fifth of a frame's cost.
func box(lines []string, inner, height int, k ink) []string {
	out := make([]string, 0, max(len(lines), height)+2)
	out = append(out, k.on("╭"+strings.Repeat("─", inner)+"╮"))
	side := k.on("│")
	for i := 0; i < max(len(lines), height); i++ {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		out = append(out, side+l+strings.Repeat(" ", max(inner-lipgloss.Width(l), 0))+side)
	}
	return append(out, k.on("╰"+strings.Repeat("─", inner)+"╯"))
}

// joinBoxes puts boxes of one height side by side.
func joinBoxes(boxes [][]string) string {
	var b strings.Builder
	for i := range boxes[0] {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, bx := range boxes {
			b.WriteString(bx[i])
		}
	}
	return b.String()
}

// cgroupLine is the panel's line for the target's memory cgroup ("" without one).
func (v targetView) cgroupLine() string {
	if v.cgroup == 0 && v.cgroupLimit == 0 {
		return ""
	}
	line := "cgroup " + mib(v.cgroup)
	if v.cgroupLimit > 0 {
		line += " of " + mib(v.cgroupLimit)
	}
	if v.oomKills > 0 {
		line += warn.Render(fmt.Sprintf(" %d OOM kill", v.oomKills))
	}
	return line
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// spark draws the last w values scaled to their own maximum.
func spark(values []float64, w int) string {
	if w <= 0 {
		return ""
	}
	if len(values) > w {
		values = values[len(values)-w:]
	}
	var top float64
	for _, v := range values {
		top = max(top, v)
	}
	var b strings.Builder
	for _, v := range values {
		i := 0
		if top > 0 {
			i = int(v / top * float64(len(sparkRunes)-1))
		}
		b.WriteRune(sparkRunes[i])
	}
	return b.String()
}

func (m Model) footer() string {
	status := m.status
	if status == "" && m.rec != nil && len(m.rec.Events) > 0 {
		status = m.rec.Events[len(m.rec.Events)-1].Message
	}
	status = report.Printable(status)
	return fit(faint.Render(status), m.width) + "\n" + m.helpBar()
}

// helpCache is the help bar as last drawn, and what it showed: it changes with the keys
// a mode enables, not with each beat, and drawing it was half a header and footer's cost.
type helpCache struct {
	enabled uint64
	width   int
	all     bool
	view    string
}

func (m Model) helpBar() string {
	var enabled uint64
	for i, b := range slices.Concat(m.keys.FullHelp()...) {
		if b.Enabled() {
			enabled |= 1 << i
		}
	}
	c := m.helpCache
	if c != nil && c.view != "" && c.enabled == enabled && c.width == m.width && c.all == m.help.ShowAll {
		return c.view
	}
	var help []string
	for _, l := range strings.Split(m.help.View(m.keys), "\n") {
		help = append(help, fit(l, m.width))
	}
	view := strings.Join(help, "\n")
	if c != nil {
		*c = helpCache{enabled: enabled, width: m.width, all: m.help.ShowAll, view: view}
	}
	return view
}

// summaryColumn is one column of the summary table.
type summaryColumn struct {
	head string
	cell func(int, record.Summary) string
}

// summaryColumns are the summary table's columns in priority order, with a * where the
// verdict calls a difference from the baseline.
func summaryColumns(sums []record.Summary, v report.Verdict) []summaryColumn {
	cols := []summaryColumn{
		{"Target", func(i int, s record.Summary) string { return s.Target }},
		{"Peak RSS", func(i int, s record.Summary) string {
			return report.PeakCell(s.PeakRSS, s) + v.Mark(i, record.MetricPeakRSS.Key)
		}},
		{"Req/s", func(i int, s record.Summary) string {
			return report.Figure(s.ReqPerSec, report.Rate) + v.Mark(i, record.MetricReqPerSec.Key)
		}},
		{"p99", func(i int, s record.Summary) string {
			return report.Figure(s.P99, report.Millis) + v.Mark(i, record.MetricP99.Key)
		}},
		{"RSS load", func(i int, s record.Summary) string {
			return report.Figure(s.MeanRSSLoad, units.MiBs) + v.Mark(i, record.MetricMeanRSSLoad.Key)
		}},
		{"After cool", func(i int, s record.Summary) string {
			return report.Figure(s.RSSAfterCooldown, units.MiBs) + v.Mark(i, record.MetricRSSAfterCooldown.Key)
		}},
	}
	if report.Cycled(sums) {
		// A cycled run's lanes: how their RSS after idle grew, and how soon half of
		// each load's memory came back (the verdicts are among the conclusions).
		cols = append(cols, summaryColumn{"Growth", func(i int, s record.Summary) string {
			if s.Retention == nil || !s.Retention.Growth.Known() {
				return "n/a"
			}
			return s.Retention.Growth.String()
		}}, summaryColumn{"Half back", func(i int, s record.Summary) string {
			if s.Retention == nil {
				return "n/a"
			}
			return report.TypicalRelease(s.Retention, report.ReleaseHalf).String()
		}})
	}
	if record.AnyPurged(sums) {
		cols = append(cols, summaryColumn{"After purge", func(i int, s record.Summary) string { return report.Figure(s.RSSAfterPurge, units.MiBs) }})
	}
	return append(cols, []summaryColumn{
		{"Errors", func(i int, s record.Summary) string { return report.Figure(s.Errors, report.Count) }},
		{"Rel", func(i int, s record.Summary) string { return report.Ratio(s.PeakRSS, sums[v.BaseOf(i)].PeakRSS) }},
		{"Threads", func(i int, s record.Summary) string { return report.Figure(s.Threads, report.Count) }},
		{"Heap", func(i int, s record.Summary) string { return report.Figure(s.HeapInUse, units.MiBs) }},
		{"Peak VSZ", func(i int, s record.Summary) string {
			return report.Figure(s.PeakVSZ, units.MiBs) + v.Mark(i, record.MetricPeakVSZ.Key)
		}},
		{"p50", func(i int, s record.Summary) string { return report.Figure(s.P50, report.Millis) }},
		{"Binary", func(i int, s record.Summary) string { return report.Figure(s.BinaryBytes, units.Bytes) }},
	}...)
}

// currentStep is the sweep step of the latest run.
func (m Model) currentStep() int {
	step := 0
	for _, t := range m.rec.Targets {
		if n := len(t.Runs); n > 0 {
			step = max(step, t.Runs[n-1].Step)
		}
	}
	return step
}

// sweepSummary is the end of a sweep: peak RSS and req/s for each lane at each value,
// then each step's conclusion.
func (m Model) sweepSummary() string {
	steps := report.SweepSteps(m.rec)
	var b strings.Builder
	b.WriteString(bold.Render("Sweep of "+m.rec.Plan.Sweep.Parameter) + faint.Render(" — the same figures as the Markdown export (e)") + "\n\n")
	nameW := 8
	for _, t := range m.rec.Targets {
		nameW = max(nameW, lipgloss.Width(t.Name))
	}
	for _, f := range []struct {
		label string
		cell  func(i int, st report.SweepStep) string
	}{
		{"Peak RSS", func(i int, st report.SweepStep) string {
			return report.PeakCell(st.Sums[i].PeakRSS, st.Sums[i]) + st.V.Mark(i, record.MetricPeakRSS.Key)
		}},
		{"Req/s", func(i int, st report.SweepStep) string {
			return report.Figure(st.Sums[i].ReqPerSec, report.Rate) + st.V.Mark(i, record.MetricReqPerSec.Key)
		}},
	} {
		b.WriteString(bold.Render(pad(f.label, nameW, false)))
		for _, st := range steps {
			b.WriteString("  " + bold.Render(pad(st.Label, 16, true)))
		}
		b.WriteByte('\n')
		for i, t := range m.rec.Targets {
			b.WriteString(lipgloss.NewStyle().Foreground(targetColor(i)).Render(pad(t.Name, nameW, false)))
			for _, st := range steps {
				b.WriteString("  " + pad(f.cell(i, st), 16, true))
			}
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	var conclusions []string
	for _, st := range steps {
		conclusions = append(append(conclusions, st.Label+":"), st.V.Conclusions(st.Rec, st.Sums)...)
	}
	m.writeWrapped(&b, conclusions, strings.Count(b.String(), "\n"))
	return strings.TrimRight(b.String(), "\n")
}

// writeWrapped writes sentences wrapped to the width, as many lines as fit below the
// used ones.
func (m Model) writeWrapped(b *strings.Builder, sentences []string, used int) {
	for _, c := range sentences {
		for _, wrapped := range strings.Split(lipgloss.NewStyle().Width(m.width-2).Render(c), "\n") {
			if used >= m.height-4 {
				return
			}
			b.WriteString(" " + wrapped + "\n")
			used++
		}
	}
}

func (m Model) summary() string {
	if m.rec.Plan.Sweep != nil {
		return m.sweepSummary()
	}
	sums := record.Summarize(m.rec)
	v := report.Judge(m.rec)
	cols := summaryColumns(sums, v)
	// Columns in priority order, as many as the width holds.
	var shown []summaryColumn
	var widths []int
	used := 0
	for _, c := range cols {
		w := lipgloss.Width(c.head)
		for i, s := range sums {
			w = max(w, lipgloss.Width(c.cell(i, s)))
		}
		if used+w+2 > m.width && len(shown) > 0 {
			break
		}
		shown = append(shown, c)
		widths = append(widths, w)
		used += w + 2
	}
	var b strings.Builder
	b.WriteString(bold.Render("Summary") + faint.Render(" — the same figures as the Markdown export (e)") + "\n\n")
	for i, c := range shown {
		b.WriteString(bold.Render(pad(c.head, widths[i], i > 0)) + "  ")
	}
	b.WriteByte('\n')
	// The lanes on the trade-off's front come first; those another lane beats, faint.
	order, dominated := report.FrontOrder(m.rec)
	if order == nil {
		for i := range sums {
			order = append(order, i)
		}
	}
	for _, ri := range order {
		s := sums[ri]
		for i, c := range shown {
			cell := pad(c.cell(ri, s), widths[i], i > 0)
			switch {
			case dominated[ri]:
				cell = faint.Render(cell)
			case i == 0:
				cell = lipgloss.NewStyle().Foreground(targetColor(ri)).Render(cell)
			}
			b.WriteString(cell + "  ")
		}
		if s.Crash != "" {
			b.WriteString(warn.Render(s.Crash))
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	lines := 4 + len(sums)
	conclusions := v.Conclusions(m.rec, sums)
	if note := v.Footnote(m.rec); note != "" {
		conclusions = append([]string{strings.TrimPrefix(note, "\\")}, conclusions...)
	}
	m.writeWrapped(&b, conclusions, lines)
	return strings.TrimRight(b.String(), "\n")
}

func pad(s string, w int, right bool) string {
	gap := w - lipgloss.Width(s)
	if gap <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", gap) + s
	}
	return s + strings.Repeat(" ", gap)
}
