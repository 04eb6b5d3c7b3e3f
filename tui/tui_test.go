package tui

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/record"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"
)

// updating reads teatest's own -update flag, which also rewrites these golden files.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

func fixture(t *testing.T) *record.Record {
	t.Helper()
	r, err := record.Load("testdata/run.json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeSession is a run that never changes by itself.
type fakeSession struct {
	rec     *record.Record
	changed chan struct{}
	done    chan struct{}
	paused  bool
	purges  int
}

func newFake(rec *record.Record) *fakeSession {
	return &fakeSession{rec: rec, changed: make(chan struct{}, 1), done: make(chan struct{})}
}
func (f *fakeSession) Snapshot() *record.Record { return f.rec.Clone() }
func (f *fakeSession) Phase() record.Phase      { return record.PhaseLoad }
func (f *fakeSession) Pause()                   { f.paused = true }
func (f *fakeSession) Resume()                  { f.paused = false }
func (f *fakeSession) Paused() bool             { return f.paused }
func (f *fakeSession) PurgeNow()                { f.purges++ }
func (f *fakeSession) Changed() <-chan struct{} { return f.changed }
func (f *fakeSession) Done() <-chan struct{}    { return f.done }
func (f *fakeSession) Err() error               { return nil }
func (f *fakeSession) SavePath() string         { return "/tmp/run.json" }

func step(t *testing.T, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	next, cmd := m.Update(msg)
	return next.(Model), cmd
}

// live builds the view of a run 4 s in, the load running.
func live(t *testing.T, w, h int) (Model, *fakeSession) {
	rec := fixture(t)
	f := newFake(rec)
	m := Live(func(ctx context.Context) (Source, error) { return f, nil })
	m, _ = step(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	m, _ = step(t, m, startedMsg{gen: 0, run: f, cancel: func() {}})
	m, _ = step(t, m, snapshotMsg{gen: 0, rec: rec, phase: record.PhaseLoad})
	m, _ = step(t, m, tickMsg{id: 0, t: rec.Started.Add(4 * time.Second)})
	return m, f
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if got != string(want) {
		t.Fatalf("%s changed (go test -update refreshes it):\n%s", name, got)
	}
}

func TestGoldenViews(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 24}} {
		m, _ := live(t, size[0], size[1])
		name := fmt.Sprintf("live-%dx%d", size[0], size[1])
		v := m.View()
		golden(t, name, v)
		if lines := strings.Count(v, "\n") + 1; lines > size[1] {
			t.Fatalf("%s: %d lines on a %d-line screen", name, lines, size[1])
		}
		for _, l := range strings.Split(v, "\n") {
			if lipgloss.Width(l) > size[0] {
				t.Fatalf("%s: line wider than %d: %q", name, size[0], l)
			}
		}
	}
	m, _ := live(t, 100, 30)
	m, _ = step(t, m, doneMsg{gen: 0, rec: m.rec})
	golden(t, "summary-100x30", m.View())
	r := Replay(fixture(t))
	r, _ = step(t, r, tea.WindowSizeMsg{Width: 80, Height: 24})
	for i := 0; i < 4; i++ {
		r, _ = step(t, r, tea.KeyMsg{Type: tea.KeyLeft})
	}
	golden(t, "replay-80x24", r.View())
}

func TestThreePanelsSideBySideAt80(t *testing.T) {
	m, _ := live(t, 80, 24)
	v := m.View()
	top := strings.Split(v, "\n")[2]
	if strings.Count(top, "╭") != 3 {
		t.Fatalf("want three panels side by side at 80 columns, got %q", top)
	}
}

func TestStaleMessagesAreDropped(t *testing.T) {
	m, _ := live(t, 80, 24)
	if _, cmd := step(t, m, tickMsg{id: 7}); cmd != nil {
		t.Fatal("a tick with an old id re-armed itself: ticks would multiply")
	}
	other := fixture(t)
	other.Targets = other.Targets[:1]
	m2, cmd := step(t, m, snapshotMsg{gen: 5, rec: other})
	if cmd != nil || len(m2.rec.Targets) != 3 {
		t.Fatal("a snapshot of an older run replaced the current one")
	}
}

func TestKeys(t *testing.T) {
	m, f := live(t, 80, 24)
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("m")})
	if !strings.Contains(m.View(), "VSZ (MiB)") {
		t.Fatal("m did not switch the chart to VSZ")
	}
	for i := 0; i < 10; i++ {
		m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("-")})
	}
	if windows[m.window] != 30*time.Second || !strings.Contains(m.View(), "last 30s") {
		t.Fatal("- did not narrow the window to 30s")
	}
	m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeySpace, Runes: []rune(" ")})
	cmd()
	if !f.paused || !strings.Contains(m.View(), "PAUSED") {
		t.Fatal("space did not pause the load")
	}
	cancelled := false
	m.cancel = func() { cancelled = true }
	m, cmd = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	if !cancelled || m.mode != modeStopping || cmd == nil {
		t.Fatal("q during a run must stop it and wait for it")
	}
	close(f.done)
	msg := cmd()
	_, cmd = step(t, m, msg)
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("the view did not quit once the run had stopped")
	}
}

func TestExportWritesFilesAndShowsThePath(t *testing.T) {
	m, _ := live(t, 100, 30)
	m = m.WithExportDir(t.TempDir())
	m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("e")})
	m, _ = step(t, m, cmd())
	if !strings.Contains(m.View(), "exported ") {
		t.Fatalf("no export path shown: %q", m.status)
	}
	files, _ := filepath.Glob(filepath.Join(m.exportDir, "allocscope-*"))
	if len(files) != 3 {
		t.Fatalf("exported %v, want .md .json .svg", files)
	}
	m = m.WithExportDir("/nonexistent-dir")
	m, cmd = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("e")})
	m, _ = step(t, m, cmd())
	if !strings.Contains(m.status, "/nonexistent-dir") || !strings.Contains(m.status, "/tmp/run.json") {
		t.Fatalf("export error does not name the path and where the run is: %q", m.status)
	}
}

func TestTeatestReplaySmoke(t *testing.T) {
	tm := teatest.NewTestModel(t, Replay(fixture(t)), teatest.WithInitialTermSize(100, 30))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("REPLAY")) }, teatest.WithDuration(5*time.Second))
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("m")})
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("VSZ (MiB)")) }, teatest.WithDuration(5*time.Second))
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

func TestQWhileRStopsTheRunQuitsInsteadOfRestarting(t *testing.T) {
	m, f := live(t, 80, 24)
	m.cancel = func() {}
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")})
	if m.mode != modeStopping || !m.restart {
		t.Fatal("r during a run must stop it to start another")
	}
	m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	if cmd != nil || m.restart {
		t.Fatal("q while r stops the run must cancel the restart and wait")
	}
	close(f.done)
	m, cmd = step(t, m, waitForDone(m.gen, m.run)())
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("the view started another run instead of quitting")
	}
}

// checkFits fails when a view is taller or wider than its screen.
func checkFits(t *testing.T, name, v string, w, h int) {
	t.Helper()
	if lines := strings.Count(v, "\n") + 1; lines > h {
		t.Fatalf("%s: %d lines on a %d-line screen", name, lines, h)
	}
	for _, l := range strings.Split(v, "\n") {
		if lipgloss.Width(l) > w {
			t.Fatalf("%s: line wider than %d: %q", name, w, l)
		}
	}
}

func TestGoldenFullChartWithEvents(t *testing.T) {
	for _, size := range [][2]int{{100, 30}, {80, 24}} {
		rec := fixture(t)
		rec.Events = append(rec.Events,
			record.Event{T: 2800 * time.Millisecond, Kind: "pause", Message: "load paused by the user"},
			record.Event{T: 3200 * time.Millisecond, Kind: "resume", Message: "load resumed by the user"})
		last := len(rec.Targets) - 1
		rec.Targets[last].Runs[0].Exit = &record.Exit{T: 3600 * time.Millisecond, Code: -1, Signal: "SIGKILL",
			OOM: &record.OOMKill{LimitBytes: 64 << 20, Phase: record.PhaseLoad, IntoPhase: 1600 * time.Millisecond}}
		f := newFake(rec)
		m := Live(func(ctx context.Context) (Source, error) { return f, nil }).WithView(ViewChart)
		m, _ = step(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m, _ = step(t, m, startedMsg{gen: 0, run: f, cancel: func() {}})
		m, _ = step(t, m, snapshotMsg{gen: 0, rec: rec, phase: record.PhaseLoad})
		m, _ = step(t, m, tickMsg{id: 0, t: rec.Started.Add(4 * time.Second)})
		v := m.View()
		name := fmt.Sprintf("chart-%dx%d", size[0], size[1])
		golden(t, name, v)
		checkFits(t, name, v, size[0], size[1])
		for _, want := range []string{"pause", "OOM " + rec.Targets[last].Name, "load", "now ", "peak "} {
			if !strings.Contains(v, want) {
				t.Errorf("%s does not show %q", name, want)
			}
		}
		m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("c")})
		if strings.Contains(m.View(), "now ") || !strings.Contains(m.View(), "╭") {
			t.Errorf("%s: c did not go back to the panels", name)
		}
	}
}

func TestGoldenEightLanes(t *testing.T) {
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		rec := fixture(t)
		base := rec.Targets
		rec.Targets = nil
		for i := 0; i < 8; i++ {
			tg := base[i%len(base)]
			tg.Name = fmt.Sprintf("lane%d", i+1)
			rec.Targets = append(rec.Targets, tg)
		}
		f := newFake(rec)
		m := Live(func(ctx context.Context) (Source, error) { return f, nil })
		m, _ = step(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m, _ = step(t, m, startedMsg{gen: 0, run: f, cancel: func() {}})
		m, _ = step(t, m, snapshotMsg{gen: 0, rec: rec, phase: record.PhaseLoad})
		v := m.View()
		name := fmt.Sprintf("eight-%dx%d", size[0], size[1])
		golden(t, name, v)
		checkFits(t, name, v, size[0], size[1])
		for i := 1; i <= 8; i++ {
			if !strings.Contains(v, fmt.Sprintf("lane%d", i)) {
				t.Errorf("%s does not show lane%d", name, i)
			}
		}
	}
	if l := computeLayout(120, 40, 8); !l.sideBySide || l.perRow != 4 || l.panelsHeight != 18 {
		t.Errorf("8 lanes at 120×40: %+v; want two rows of four panels", l)
	}
	if l := computeLayout(80, 24, 8); l.sideBySide || l.panelsHeight != 8 {
		t.Errorf("8 lanes at 80×24: %+v; want a line per lane", l)
	}
}

func TestPurgeKeyAsksTheRunAndAnIgnoredSettingIsFlagged(t *testing.T) {
	m, f := live(t, 120, 40)
	m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("g")})
	if cmd == nil {
		t.Fatal("g did nothing during a live run")
	}
	cmd()
	if f.purges != 1 || !strings.Contains(m.View(), "purge: asking every lane") {
		t.Fatalf("purges %d after g; view:\n%s", f.purges, m.View())
	}
	rec := m.rec.Clone()
	rec.Targets[1].SettingIssues = []string{"<jemalloc>: Invalid conf pair: bogus:1"}
	m, _ = step(t, m, snapshotMsg{gen: 0, rec: rec, phase: record.PhaseLoad})
	if v := m.View(); !strings.Contains(v, "⚠ setting ignored") {
		t.Fatalf("a lane whose setting was ignored is not flagged:\n%s", v)
	}
}

func TestTheHeaderWarnsWhileOtherWorkTakesTheMachine(t *testing.T) {
	m, f := live(t, 80, 24)
	if strings.Contains(m.View(), "busy") {
		t.Fatal("a run without CPU readings is called busy")
	}
	rec := f.rec.Clone()
	rec.State = record.StateRunning
	rec.Interference = &record.Interference{Series: []record.CPUShare{{T: 3 * time.Second, OtherPct: 63}}}
	m, _ = step(t, m, snapshotMsg{gen: 0, rec: rec, phase: record.PhaseLoad})
	if head := strings.Split(m.View(), "\n")[1]; !strings.Contains(head, "⚠ busy: 63% other work") {
		t.Fatalf("the progress line while other work takes 63%% of the machine: %q", head)
	}
	rec = rec.Clone()
	rec.Interference.Series = append(rec.Interference.Series, record.CPUShare{T: 4 * time.Second, OtherPct: 5})
	m, _ = step(t, m, snapshotMsg{gen: 0, rec: rec, phase: record.PhaseLoad})
	if head := strings.Split(m.View(), "\n")[1]; strings.Contains(head, "busy") {
		t.Fatalf("the warning outlives the other work: %q", head)
	}
	rec = rec.Clone()
	rec.State = record.StateDone
	rec.Interference.Series[1].OtherPct = 63
	rec.Interference.Summarize(rec)
	m, _ = step(t, m, doneMsg{gen: 0, rec: rec})
	v := m.View()
	if head := strings.Split(v, "\n")[1]; !strings.Contains(head, "⚠ busy: 63% other work") {
		t.Fatalf("the summary's progress line: %q", head)
	}
	if !strings.Contains(strings.Join(strings.Fields(v), " "), "Not compared: the machine was busy with other work (63% of its CPU)") {
		t.Fatalf("the summary does not say why nothing is compared:\n%s", v)
	}
}

// A run without --cgroup has no cgroup series: m goes past it rather than to an empty
// chart, and still reaches every metric the record has.
func TestMetricKeySkipsWhatTheRunDidNotRecord(t *testing.T) {
	m, _ := live(t, 120, 40)
	for _, tg := range m.rec.Targets {
		for _, r := range tg.Runs {
			for _, s := range r.Samples {
				if s.CgroupBytes != 0 {
					t.Fatal("the fixture has cgroup readings: the test needs a run without")
				}
			}
		}
	}
	seen := map[string]bool{}
	for range metrics {
		m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("m")})
		seen[metrics[m.metric].key] = true
	}
	if seen["cgroup"] {
		t.Error("m showed the cgroup chart of a run that has no cgroup readings")
	}
	for _, key := range []string{"rss", "vsz"} {
		if !seen[key] {
			t.Errorf("m never reached %s: %v", key, seen)
		}
	}
}
