package cgroup

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/allocscope/allocscope/internal/rawio"
)

// Stats is what the kernel accounts to one cgroup at a moment, in bytes and counts.
type Stats struct {
	// UsageBytes is v2's memory.current, v1's memory.usage_in_bytes.
	UsageBytes uint64
	// PeakBytes is the kernel's high-water mark of UsageBytes since the cgroup was made:
	// v2's memory.peak (kernel 5.19 on), v1's memory.max_usage_in_bytes. PeakKnown is
	// false where the kernel keeps none.
	PeakBytes uint64
	PeakKnown bool
	// From memory.stat: anonymous memory, page cache, kernel memory (slab, stacks, page
	// tables) and socket buffers. v1 keeps kernel and socket memory in memory.kmem.*.
	AnonBytes   uint64
	FileBytes   uint64
	KernelBytes uint64
	SockBytes   uint64
	// WorkingSetBytes is the working set as the kubelet computes it, the figure a
	// Kubernetes memory limit and eviction are held against: usage less the page cache on
	// the inactive LRU (memory.stat's inactive_file in v2, total_inactive_file in v1),
	// floored at 0. See workingSet.
	WorkingSetBytes uint64
	// LimitBytes is the memory limit in force, 0 for none.
	LimitBytes uint64
	Events     Events
}

// Events count what the limit did: v2's memory.events; in v1, Max is memory.failcnt
// and OOMKill memory.oom_control's oom_kill (v1 counts no high or oom events).
type Events struct {
	High    uint64
	Max     uint64
	OOM     uint64
	OOMKill uint64
}

// Read reads the group's figures now.
func (g *Group) Read() (Stats, error) { return ReadDir(g.Version, g.Dir) }

// ReadDir reads the figures of the cgroup at dir.
func ReadDir(v Version, dir string) (Stats, error) {
	if v == V2 {
		return readV2(dir)
	}
	return readV1(dir)
}

func readV1(dir string) (Stats, error) {
	var s Stats
	var err error
	if s.UsageBytes, err = readUint(filepath.Join(dir, "memory.usage_in_bytes")); err != nil {
		return s, err
	}
	if s.PeakBytes, err = readUint(filepath.Join(dir, "memory.max_usage_in_bytes")); err == nil {
		s.PeakKnown = true
	}
	stat := readKeyed(filepath.Join(dir, "memory.stat"))
	s.AnonBytes, s.FileBytes = stat["total_rss"], stat["total_cache"]
	s.WorkingSetBytes = workingSet(s.UsageBytes, stat["total_inactive_file"])
	s.KernelBytes, _ = readUint(filepath.Join(dir, "memory.kmem.usage_in_bytes"))
	s.SockBytes, _ = readUint(filepath.Join(dir, "memory.kmem.tcp.usage_in_bytes"))
	if limit, err := readUint(filepath.Join(dir, "memory.limit_in_bytes")); err == nil && limit < 1<<62 {
		s.LimitBytes = limit
	}
	// With memory+swap limited too, the hits may be counted against either.
	hits, _ := readUint(filepath.Join(dir, "memory.failcnt"))
	swHits, _ := readUint(filepath.Join(dir, "memory.memsw.failcnt"))
	s.Events.Max = max(hits, swHits)
	s.Events.OOMKill = readKeyed(filepath.Join(dir, "memory.oom_control"))["oom_kill"]
	return s, nil
}

func readV2(dir string) (Stats, error) {
	var s Stats
	var err error
	if s.UsageBytes, err = readUint(filepath.Join(dir, "memory.current")); err != nil {
		return s, err
	}
	if s.PeakBytes, err = readUint(filepath.Join(dir, "memory.peak")); err == nil {
		s.PeakKnown = true
	}
	stat := readKeyed(filepath.Join(dir, "memory.stat"))
	s.AnonBytes, s.FileBytes, s.SockBytes = stat["anon"], stat["file"], stat["sock"]
	s.WorkingSetBytes = workingSet(s.UsageBytes, stat["inactive_file"])
	s.KernelBytes = stat["kernel"]
	if _, ok := stat["kernel"]; !ok {
		// Before 5.18 memory.stat had no total of kernel memory.
		s.KernelBytes = stat["kernel_stack"] + stat["slab"] + stat["pagetables"] + stat["percpu"]
	}
	if limit := strings.TrimSpace(readString(filepath.Join(dir, "memory.max"))); limit != "max" {
		s.LimitBytes, _ = strconv.ParseUint(limit, 10, 64)
	}
	ev := readKeyed(filepath.Join(dir, "memory.events"))
	s.Events = Events{High: ev["high"], Max: ev["max"], OOM: ev["oom"], OOMKill: ev["oom_kill"]}
	return s, nil
}

// workingSet is cAdvisor's, which the kubelet's summary API and `kubectl top` report:
// google/cadvisor container/libcontainer/handler.go, setMemoryStats, takes
// Memory.Usage (runc reads memory.usage_in_bytes in v1, memory.current in v2) and
// subtracts memory.stat's "total_inactive_file" ("inactive_file" under cgroup v2),
// giving 0 where the subtraction would go below it.
func workingSet(usage, inactiveFile uint64) uint64 {
	if usage < inactiveFile {
		return 0
	}
	return usage - inactiveFile
}

func readUint(path string) (uint64, error) {
	b, err := rawio.ReadFile(path, nil)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// readKeyed reads a file of "key value" lines (memory.stat, memory.events, oom_control).
func readKeyed(path string) map[string]uint64 {
	out := map[string]uint64{}
	for _, line := range strings.Split(readString(path), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}
