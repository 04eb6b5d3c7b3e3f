package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/units"
)

// CSV writes one row per target per sample, with the load second that ended last.
func CSV(w io.Writer, r *record.Record) error {
	r = PrintableRecord(r)
	pw := &printableWriter{w: w}
	cw := csv.NewWriter(pw)
	cw.Write([]string{"target", "allocator", "run", "step", "t_seconds", "phase", "rss_kib", "vsz_kib", "peak_rss_kib", "anon_kib", "file_kib",
		"pss_kib", "uss_kib", "cpu_percent", "threads", "fds", "minor_faults", "heap_allocated_bytes", "heap_committed_bytes", "requests_last_second", "p99_ms_last_second",
		"cgroup_kib", "cgroup_anon_kib", "cgroup_file_kib", "cgroup_kernel_kib", "cgroup_sock_kib", "cgroup_limit_kib",
		"cycle", "lazy_free_kib", "cgroup_working_set_kib"})
	for _, t := range r.Targets {
		runs := t.Runs
		labels := make([]string, 0, len(t.Runs)+len(t.FitTrials))
		for ri := range t.Runs {
			labels = append(labels, strconv.Itoa(ri+1))
		}
		// A --fit search's trials follow its unlimited run, as t1, t2, ….
		for k := range t.FitTrials {
			labels = append(labels, "t"+strconv.Itoa(k+1))
		}
		runs = append(append([]record.TargetRun(nil), runs...), t.FitTrials...)
		for ri, run := range runs {
			limit := ""
			if run.Cgroup != nil && run.Cgroup.LimitBytes > 0 {
				limit = kib(run.Cgroup.LimitBytes)
			}
			cycle := 0
			for _, s := range run.Samples {
				// Samples are in time order: the cycle only moves forward.
				for cycle < len(run.Cycles) && run.Cycles[cycle].IdleEnd > 0 && s.T > run.Cycles[cycle].IdleEnd {
					cycle++
				}
				cycleCol := ""
				if cycle < len(run.Cycles) && s.T >= run.Cycles[cycle].LoadStart {
					cycleCol = strconv.Itoa(run.Cycles[cycle].Index)
				}
				lazy, ws := "", ""
				if s.PSSBytes > 0 {
					lazy = kib(s.LazyFreeBytes)
				}
				if s.CgroupBytes > 0 {
					ws = kib(s.CgroupWorkingSetBytes)
				}
				alloc, committed := "", ""
				if h := lastAt(run.Heap, func(h record.HeapStats) time.Duration { return h.T }, s.T); h != nil {
					if h.AllocatedBytes != nil {
						alloc = strconv.FormatUint(*h.AllocatedBytes, 10)
					}
					if h.CommittedBytes != nil {
						committed = strconv.FormatUint(*h.CommittedBytes, 10)
					}
				}
				reqs, p99 := "", ""
				if l := lastAt(run.Load, func(l record.LoadTick) time.Duration { return l.T }, s.T); l != nil {
					reqs = strconv.FormatUint(l.Requests, 10)
					p99 = fmt.Sprintf("%.3f", float64(l.P99.Microseconds())/1000)
				}
				cgroup := []string{"", "", "", "", "", limit}
				if s.CgroupBytes > 0 {
					cgroup = []string{kib(s.CgroupBytes), kib(s.CgroupAnonBytes), kib(s.CgroupFileBytes), kib(s.CgroupKernelBytes), kib(s.CgroupSockBytes), limit}
				}
				cw.Write(append([]string{t.Name, t.Allocator, labels[ri], r.Plan.Sweep.Label(run.Step), fmt.Sprintf("%.3f", s.T.Seconds()), string(run.Phases.PhaseAt(s.T)),
					kib(s.RSSBytes), kib(s.VSZBytes), kib(s.PeakRSSBytes), kib(s.AnonBytes), kib(s.FileBytes), kib(s.PSSBytes), kib(s.USSBytes),
					fmt.Sprintf("%.1f", s.CPUPercent), strconv.Itoa(s.Threads), strconv.Itoa(s.FDs), strconv.FormatUint(s.MinorFaults, 10),
					alloc, committed, reqs, p99}, append(cgroup, cycleCol, lazy, ws)...))
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return pw.Close()
}

func kib(b uint64) string { return units.WholeKiBs(b) }

// lastAt is the last of xs whose time (offset from the run's start) is at or before t.
func lastAt[T any](xs []T, at func(T) time.Duration, t time.Duration) *T {
	var found *T
	for i := range xs {
		if at(xs[i]) <= t {
			found = &xs[i]
		}
	}
	return found
}
