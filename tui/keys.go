package tui

import (
	"github.com/allocscope/allocscope/record"
	"github.com/charmbracelet/bubbles/key"
)

// KeyMap is every key the view answers to.
type KeyMap struct {
	Quit    key.Binding
	Pause   key.Binding
	Restart key.Binding
	Purge   key.Binding
	Metric  key.Binding
	Chart   key.Binding
	Export  key.Binding
	Wider   key.Binding
	Narrow  key.Binding
	Back    key.Binding
	Forward key.Binding
	Help    key.Binding
}

// DefaultKeyMap is the key map shown in the help bar.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Pause:   key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "pause load")),
		Restart: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "run again")),
		Purge:   key.NewBinding(key.WithKeys("g"), key.WithHelp("g", "purge (give back)")),
		Metric:  key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "metric")),
		Chart:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "full chart")),
		Export:  key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export")),
		Wider:   key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+/-", "window")),
		Narrow:  key.NewBinding(key.WithKeys("-", "_"), key.WithHelp("-", "narrower window")),
		Back:    key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/→", "scrub")),
		Forward: key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→", "later")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "all keys")),
	}
}

// ShortHelp is the help bar.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Quit, k.Pause, k.Metric, k.Chart, k.Export, k.Wider, k.Restart, k.Back, k.Help}
}

// FullHelp is shown by ?.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Quit, k.Pause, k.Restart, k.Purge}, {k.Metric, k.Chart, k.Wider, k.Narrow}, {k.Export, k.Back, k.Forward, k.Help}}
}

// enabledKeys is the key map with only the keys that do something now: key.Matches and
// the help bar both skip the others.
func (m Model) enabledKeys() KeyMap {
	k := m.keys
	_, controllable := m.run.(Controller)
	live := m.mode == modeLive && m.run != nil
	chart := m.mode == modeLive || m.mode == modeReplay || m.mode == modeStopping
	k.Pause.SetEnabled(live && controllable && m.phase == record.PhaseLoad)
	_, purgeable := m.run.(Purger)
	k.Purge.SetEnabled(live && purgeable)
	k.Restart.SetEnabled(m.start != nil && !m.once && (live || m.mode == modeSummary))
	k.Metric.SetEnabled(chart)
	k.Chart.SetEnabled(chart)
	k.Wider.SetEnabled(chart)
	k.Narrow.SetEnabled(chart)
	k.Back.SetEnabled(m.mode == modeReplay)
	k.Forward.SetEnabled(m.mode == modeReplay)
	k.Export.SetEnabled(m.rec != nil)
	return k
}
