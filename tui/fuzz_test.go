package tui

import (
	"bytes"
	"os"
	"testing"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/report"
	tea "github.com/charmbracelet/bubbletea"
)

// FuzzRecordRendering renders every record the decoder accepts in every format and in
// the TUI (replay and summary, at a roomy size and a tiny one): none may panic.
func FuzzRecordRendering(f *testing.F) {
	full, err := os.ReadFile("testdata/run.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte(`{"schema":1,"tool":{},"targets":[{"name":"x","command":["nginx"],"runs":[{"phases":{}}]}]}`))
	f.Add([]byte(`{"schema":1,"tool":{},"plan":{"runs":3},"targets":[{"name":"a","runs":[{"samples":[{"rss_bytes":1}]},{},{}]},{"name":"b","runs":[{"samples":[{"rss_bytes":2}]}]}]}`))
	f.Add([]byte(`{"schema":1,"tool":{},"targets":[{"name":"\u001b]0;x\u0007","runs":[{"peaks":{"load":{"bytes":5,"source":"what"}},"result":{"requests":0}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := record.Unmarshal(data)
		if err != nil {
			return
		}
		for _, format := range report.Formats {
			var b bytes.Buffer
			if err := report.Write(&b, r, format); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
		}
		for _, size := range [][2]int{{120, 40}, {1, 1}, {20, 6}} {
			replay, _ := Replay(r).Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			replay.View()
			summary := newModel()
			summary.mode, summary.run = modeSummary, newFake(r)
			next, _ := summary.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			next, _ = next.(Model).Update(doneMsg{rec: r})
			next.View()
		}
	})
}
