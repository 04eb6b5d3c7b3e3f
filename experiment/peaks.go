package experiment

import (
	"errors"
	"time"

	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
)

// peakMeter measures a target's exact RSS peak phase by phase: the kernel's high-water
// mark, reset when a phase starts and read when it ends. The sampled series misses
// whatever rose and fell between two samples: on the large scenario the kernel's peak
// was 7–18% above the largest 1-second sample.
type peakMeter struct {
	fs   peakReader
	pid  int
	tree bool
	// resetRefused: VmHWM counts from the process's start, not the phase's.
	resetRefused bool
	// highest is the largest peak of the phases measured so far.
	highest uint64
	// phase is the phase open now ("" when none), started at offset from.
	phase record.Phase
	from  time.Duration
}

// peakReader reads and resets the kernel's high-water marks (probe.FS).
type peakReader interface {
	ResetTreePeakRSS(pid int, tree bool) error
	TreePeakRSS(pid int, tree bool) (probe.TreePeak, error)
}

// newPeakMeter measures pid's peaks; pid 0 (a remote target) has only sampled ones.
func newPeakMeter(fs peakReader, pid int, tree bool) *peakMeter {
	return &peakMeter{fs: fs, pid: pid, tree: tree}
}

// begin starts a phase at offset from.
func (m *peakMeter) begin(phase record.Phase, from time.Duration) {
	m.phase, m.from = phase, from
	if m.resetRefused || m.pid == 0 {
		return
	}
	if err := m.fs.ResetTreePeakRSS(m.pid, m.tree); errors.Is(err, probe.ErrPeakResetRefused) {
		m.resetRefused = true
	}
}

// end closes the open phase at offset to and returns it with its peak; sampled is the
// largest sampled RSS in the phase, used where the kernel's figure is not to be had.
func (m *peakMeter) end(sampled uint64) (record.Phase, record.PeakRSS) {
	phase := m.phase
	m.phase = ""
	p := record.PeakRSS{Bytes: sampled, Source: record.PeakSampled}
	hwm, err := m.fs.TreePeakRSS(m.pid, m.tree)
	switch {
	case err != nil || m.pid == 0: // gone, or remote: the samples are all there is
	case !m.resetRefused:
		p = record.PeakRSS{Bytes: hwm.Bytes, Source: record.PeakKernel, UpperBound: hwm.Members > 1}
	case hwm.Bytes > m.highest:
		// The lifetime peak is above every earlier phase's, so it happened in this one.
		p = record.PeakRSS{Bytes: max(hwm.Bytes, sampled), Source: record.PeakKernelSinceStart, UpperBound: hwm.Members > 1}
	}
	m.highest = max(m.highest, p.Bytes)
	return phase, p
}

// sampledPeak is the largest sampled RSS in [from, to]; to == 0 means open-ended.
func sampledPeak(samples []record.Sample, from, to time.Duration) uint64 {
	var peak uint64
	for _, s := range samples {
		if s.T >= from && (to == 0 || s.T <= to) {
			peak = max(peak, s.RSSBytes)
		}
	}
	return peak
}
