package tui

import (
	"testing"
)

// BenchmarkView is the cost of one frame at 120×40, the TUI's main cost during a run.
func BenchmarkView(b *testing.B) {
	m, _ := live(&testing.T{}, 120, 40)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkRender is the cost of rebuilding a frame's body (panels and chart) at
// 120×40, done once per change of the record: about once a second during a run.
func BenchmarkRender(b *testing.B) {
	m, _ := live(&testing.T{}, 120, 40)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.renderBody()
	}
}
