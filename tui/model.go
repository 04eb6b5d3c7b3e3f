package tui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

type mode int

const (
	modeLive     mode = iota // a run in progress
	modeStopping             // waiting for the run to stop, then quit or restart
	modeSummary              // the run has ended: the summary table
	modeReplay               // a saved run, scrubbed with ←/→
)

// Windows the chart cycles through with +/-; 0 shows the whole run.
var windows = []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 0}

// Model is the root bubbletea model.
type Model struct {
	start   StartFunc
	run     Source
	cancel  context.CancelFunc
	gen     int // increases with each run; messages of older runs are dropped
	mode    mode
	restart bool
	// once: the source cannot be started again (a watch), so r does nothing.
	once bool

	rec    *record.Record
	phase  record.Phase
	paused bool
	runErr error
	now    time.Time
	cursor time.Duration // replay: the moment shown

	metric int
	window int
	// fullChart shows the chart alone over the whole screen (c, --view chart).
	fullChart bool
	width     int
	height    int
	layout    layout
	keys      KeyMap
	help      help.Model
	status    string
	exportDir string
	tickID    int
	// surface is the chart's canvas, kept across frames (shared by the model's copies:
	// bubbletea calls Update and View from one goroutine).
	surface *surface
	// helpCache is the help bar last drawn (shared like surface).
	helpCache *helpCache
	// body is the rendered panels and chart (or summary): rebuilt in Update when what
	// it shows changed, so the clock's ticks redraw only the header.
	body string
}

// Live returns the view of runs started by start; it starts the first at once.
func Live(start StartFunc) Model {
	m := newModel()
	m.start = start
	m.keys = m.enabledKeys()
	return m
}

// Watch returns the view of one source that cannot be started again (a watch).
func Watch(src Source) Model {
	m := newModel()
	m.start = func(context.Context) (Source, error) { return src, nil }
	m.once = true
	m.keys = m.enabledKeys()
	return m
}

// Replay returns the view of a saved run.
func Replay(rec *record.Record) Model {
	m := newModel()
	m.mode = modeReplay
	m.rec = report.PrintableRecord(rec)
	m.phase = record.PhaseDone
	m.cursor = end(rec)
	m.now = rec.Started.Add(m.cursor)
	m.keys = m.enabledKeys()
	return m
}

func newModel() Model {
	h := help.New()
	return Model{keys: DefaultKeyMap(), help: h, window: len(windows) - 1, exportDir: ".", phase: record.PhaseStarting,
		surface: &surface{}, helpCache: &helpCache{}}
}

// WithView starts the view in "chart" (the chart over the whole screen) or "panels".
func (m Model) WithView(view string) Model {
	m.fullChart = view == ViewChart
	return m
}

// Views are what --view takes.
const (
	ViewPanels = "panels"
	ViewChart  = "chart"
)

// WithExportDir sets where e writes its files.
func (m Model) WithExportDir(dir string) Model {
	m.exportDir = dir
	return m
}

// end is the offset of the last thing measured.
func end(r *record.Record) time.Duration {
	var last time.Duration
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			if n := len(run.Samples); n > 0 && run.Samples[n-1].T > last {
				last = run.Samples[n-1].T
			}
		}
	}
	return last
}

type (
	startedMsg struct {
		gen    int
		run    Source
		cancel context.CancelFunc
		err    error
	}
	snapshotMsg struct {
		gen    int
		rec    *record.Record
		phase  record.Phase
		paused bool
		// t is when it was taken: the header's clock, which has no tick of its own.
		t time.Time
	}
	doneMsg struct {
		gen int
		rec *record.Record
		err error
	}
	// tickMsg sets the header's clock (the tests' fixed time); the view sends none itself.
	tickMsg struct {
		id int
		t  time.Time
	}
	exportedMsg struct {
		paths []string
		err   error
	}
)

// Init starts the first run (live) or does nothing (replay).
func (m Model) Init() tea.Cmd {
	if m.mode == modeReplay {
		return nil
	}
	return startRun(m.start, m.gen)
}

func startRun(start StartFunc, gen int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithCancel(context.Background())
		run, err := start(ctx)
		if err != nil {
			cancel()
		}
		return startedMsg{gen: gen, run: run, cancel: cancel, err: err}
	}
}

// waitForChange waits for the run's next change: its heartbeat, once per sampling
// interval, or a phase change or event. The view has no clock of its own: each wake-up
// is CPU taken from the servers under measurement.
func waitForChange(gen int, run Source) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-run.Changed():
		case <-run.Done():
		}
		select {
		case <-run.Done():
			return doneMsg{gen: gen, rec: run.Snapshot(), err: run.Err()}
		default:
			return snapshotMsg{gen: gen, rec: run.Snapshot(), phase: run.Phase(), paused: paused(run), t: time.Now()}
		}
	}
}

func paused(run Source) bool {
	c, ok := run.(Controller)
	return ok && c.Paused()
}

func waitForDone(gen int, run Source) tea.Cmd {
	return func() tea.Msg {
		<-run.Done()
		return doneMsg{gen: gen, rec: run.Snapshot(), err: run.Err()}
	}
}

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := m.update(msg)
	next.keys = next.enabledKeys()
	if _, isTick := msg.(tickMsg); !isTick {
		next.body = next.renderBody()
	}
	return next, cmd
}

func (m Model) update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		m.layout = computeLayout(m.width, m.height, m.targetCount())
		return m, nil
	case tickMsg:
		if msg.id != m.tickID || m.mode == modeReplay {
			return m, nil
		}
		m.now = msg.t
		return m, nil
	case startedMsg:
		if msg.gen != m.gen {
			// A run this view no longer follows must not go on unseen.
			if msg.cancel != nil {
				msg.cancel()
			}
			return m, nil
		}
		if msg.err != nil {
			m.runErr = msg.err
			m.mode = modeSummary
			m.status = "could not start: " + msg.err.Error()
			return m, nil
		}
		m.run, m.cancel = msg.run, msg.cancel
		m.mode = modeLive
		return m, waitForChange(m.gen, m.run)
	case snapshotMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		m.setRecord(msg.rec)
		m.phase, m.paused = msg.phase, msg.paused
		if !msg.t.IsZero() {
			m.now = msg.t
		}
		return m, waitForChange(m.gen, m.run)
	case doneMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		m.setRecord(msg.rec)
		m.runErr = msg.err
		m.phase = record.PhaseDone
		if m.mode == modeStopping {
			if m.restart {
				m.restart = false
				return m.startAnother()
			}
			return m, tea.Quit
		}
		m.mode = modeSummary
		m.status = "run " + msg.rec.State + ": saved to " + m.run.SavePath()
		switch {
		case msg.err != nil && msg.rec.State == record.StateFailed:
			m.status = "run failed: " + msg.err.Error()
		case msg.err != nil && !errors.Is(msg.err, context.Canceled):
			// The run ended but its record was not written: never claim a save.
			m.status = "run " + msg.rec.State + ", NOT saved: " + msg.err.Error()
		}
		return m, nil
	case exportedMsg:
		if msg.err != nil {
			m.status = "export failed: " + msg.err.Error()
			if m.run != nil {
				m.status += "; the run is still saved to " + m.run.SavePath()
			}
		} else {
			m.status = "exported " + joinPaths(msg.paths)
		}
		return m, nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			return m.keys1by1(msg)
		}
		return m.key(msg)
	}
	return m, nil
}

// keys1by1 handles keys that arrived together as one message ("rq" when r and q are
// typed fast), one at a time, each seeing the state the one before left.
func (m Model) keys1by1(msg tea.KeyMsg) (Model, tea.Cmd) {
	var cmds []tea.Cmd
	for _, r := range msg.Runes {
		one := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}
		if r == ' ' {
			one.Type = tea.KeySpace
		}
		m.keys = m.enabledKeys()
		var cmd tea.Cmd
		m, cmd = m.key(one)
		cmds = append(cmds, cmd)
	}
	return m, tea.Sequence(cmds...)
}

func (m *Model) setRecord(r *record.Record) {
	r = report.PrintableRecord(r)
	countChanged := m.rec == nil || len(m.rec.Targets) != len(r.Targets)
	m.rec = r
	if countChanged && m.width > 0 {
		m.layout = computeLayout(m.width, m.height, m.targetCount())
	}
}

func (m Model) targetCount() int {
	if m.rec == nil {
		return 0
	}
	return len(m.rec.Targets)
}

func (m Model) key(k tea.KeyMsg) (Model, tea.Cmd) {
	switch {
	case key.Matches(k, m.keys.Quit):
		if m.mode == modeLive && m.run != nil {
			m.mode = modeStopping
			m.status = "stopping: servers and load workers are being stopped, the run saved…"
			m.cancel()
			return m, waitForDone(m.gen, m.run)
		}
		if m.mode == modeStopping {
			if k.String() == "ctrl+c" {
				return m, tea.Quit // a second ctrl+c does not wait
			}
			// q while r is stopping the run: quit when it has stopped, start nothing.
			m.restart = false
			m.status = "stopping: servers and load workers are being stopped, the run saved…"
			return m, nil
		}
		return m, tea.Quit
	case k.Type == tea.KeySpace && !m.keys.Pause.Enabled():
		if _, ok := m.run.(Controller); ok && m.mode == modeLive {
			// Only the load can be paused: before it, a pause would hold it back for the
			// whole run; after it there is no load to pause or resume.
			m.status = "the load is over: nothing to pause or resume"
			if m.phase == record.PhaseStarting || m.phase == record.PhaseBaseline {
				m.status = "nothing to pause yet: the load has not started"
			}
		}
	case key.Matches(k, m.keys.Pause):
		if run, ok := m.run.(Controller); ok && m.mode == modeLive {
			m.paused = !m.paused
			paused := m.paused
			return m, func() tea.Msg {
				if paused {
					run.Pause()
				} else {
					run.Resume()
				}
				return nil
			}
		}
	case key.Matches(k, m.keys.Purge):
		if run, ok := m.run.(Purger); ok && m.mode == modeLive {
			m.status = "purge: asking every lane's allocator to give memory back"
			return m, func() tea.Msg {
				run.PurgeNow()
				return nil
			}
		}
	case key.Matches(k, m.keys.Restart):
		switch m.mode {
		case modeLive:
			if m.run != nil {
				m.mode, m.restart = modeStopping, true
				m.status = "stopping this run to start another…"
				m.cancel()
				return m, waitForDone(m.gen, m.run)
			}
		case modeSummary:
			if m.start != nil {
				return m.startAnother()
			}
		}
	case key.Matches(k, m.keys.Metric):
		m.metric = m.nextMetric()
	case key.Matches(k, m.keys.Chart):
		m.fullChart = !m.fullChart
	case key.Matches(k, m.keys.Wider):
		m.window = min(m.window+1, len(windows)-1)
	case key.Matches(k, m.keys.Narrow):
		m.window = max(m.window-1, 0)
	case key.Matches(k, m.keys.Back):
		if m.mode == modeReplay {
			m.cursor = max(m.cursor-m.step(), 0)
		}
	case key.Matches(k, m.keys.Forward):
		if m.mode == modeReplay {
			m.cursor = min(m.cursor+m.step(), end(m.rec))
		}
	case key.Matches(k, m.keys.Export):
		if m.rec != nil {
			m.status = "exporting…"
			return m, exportCmd(m.rec, m.exportDir, time.Now())
		}
	case key.Matches(k, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.layout = computeLayout(m.width, m.height, m.targetCount())
	}
	return m, nil
}

// startAnother starts a new run. Until it has started, the view follows no run, so
// keys that act on a run (r, space, q's stop) cannot reach the previous one.
func (m Model) startAnother() (Model, tea.Cmd) {
	m.gen++
	m.tickID++
	m.rec, m.status, m.mode = nil, "", modeLive
	m.run, m.cancel = nil, nil
	return m, startRun(m.start, m.gen)
}

func (m Model) step() time.Duration {
	if m.rec != nil && m.rec.Plan.Interval > 0 {
		return m.rec.Plan.Interval
	}
	return time.Second
}

// exportCmd writes Markdown, JSON and SVG next to each other under one name.
func exportCmd(rec *record.Record, dir string, now time.Time) tea.Cmd {
	return func() tea.Msg {
		base := filepath.Join(dir, "allocscope-"+now.Format("20060102-150405"))
		var paths []string
		for _, f := range []string{"md", "json", "svg"} {
			p := base + "." + f
			if err := report.Export(p, f, rec); err != nil {
				return exportedMsg{err: err}
			}
			paths = append(paths, p)
		}
		return exportedMsg{paths: paths}
	}
}

func joinPaths(p []string) string {
	if len(p) == 0 {
		return ""
	}
	s := p[0]
	for _, x := range p[1:] {
		s += ", " + filepath.Ext(x)
	}
	return s
}

// Run runs a model full-screen until the user quits or ctx ends (SIGTERM, a hangup:
// the terminal may be gone, so nobody would ever press q). A frame is painted when the
// model changed: on the run's heartbeat, a key or a resize, never on a clock.
func Run(ctx context.Context, m Model) error {
	applyColorPolicy()
	t, err := openTerminal()
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	defer t.restore()
	var paintErr error
	// The caller owns SIGINT/SIGTERM/SIGHUP and cancels ctx: with two handlers, bubbletea's
	// signal goroutine could block on a send while shutdown waited for it.
	p := tea.NewProgram(painted{Model: m, s: &screen{out: t.out}, err: &paintErr, restore: t.restore},
		tea.WithContext(ctx), tea.WithoutSignalHandler(), tea.WithoutRenderer(), tea.WithInput(t.in))
	defer t.sendSizes(p)()
	final, err := p.Run()
	if fp, ok := final.(painted); ok {
		final = fp.Model
	}
	if err == nil && paintErr != nil {
		err = paintErr
	}
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	if fm, ok := final.(Model); ok && fm.runErr != nil && fm.rec != nil && fm.rec.State == record.StateFailed {
		return fm.runErr
	}
	return nil
}

// nextMetric is the next metric after the current one that the record has points of:
// a run without --cgroup has no cgroup series to chart. Before any sample, the next one.
func (m Model) nextMetric() int {
	for step := 1; step <= len(metrics); step++ {
		i := (m.metric + step) % len(metrics)
		if m.rec != nil && m.hasPoints(metrics[i]) {
			return i
		}
	}
	return (m.metric + 1) % len(metrics)
}

func (m Model) hasPoints(met metric) bool {
	for _, t := range m.rec.Targets {
		for _, r := range t.Runs {
			if len(met.series(r)) > 0 {
				return true
			}
		}
	}
	return false
}
