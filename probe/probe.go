// Package probe samples the memory and CPU of process trees from procfs, for several
// targets at once on one drift-free schedule. Every figure is converted to bytes or
// durations here, once, and the field names carry the unit.
package probe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/allocscope/allocscope/internal/rawio"
	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// DefaultRoot is where procfs is mounted.
const DefaultRoot = "/proc"

// ErrExited means the process is gone, or its PID now belongs to another process.
var ErrExited = errors.New("process exited")

// FS reads processes under a procfs root; tests pass a fixture tree.
type FS struct {
	root   string
	procfs procfs.FS
	// realProc is whether root is a procfs mount, whose /proc/PID/fd has the count of
	// open files as its size (Linux 6.2 on); a fixture tree's directories do not.
	realProc bool
	pageSize uint64
	userHZ   uint64
}

// NewFS opens a procfs root such as "/proc" or "testdata/proc".
func NewFS(root string) (FS, error) {
	pfs, err := procfs.NewFS(root)
	if err != nil {
		return FS{}, fmt.Errorf("open procfs at %s: %w", root, err)
	}
	var st unix.Statfs_t
	isProc := unix.Statfs(root, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
	// USER_HZ is 100 on every Linux ABI that Go supports.
	return FS{root: root, procfs: pfs, realProc: isProc, pageSize: uint64(os.Getpagesize()), userHZ: 100}, nil
}

// Process is one process's figures at one instant.
type Process struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm,omitempty"`
	// RSSBytes and VSZBytes are exact, from /proc/PID/statm.
	RSSBytes uint64 `json:"rss_bytes"`
	VSZBytes uint64 `json:"vsz_bytes"`
	// From /proc/PID/status: the high-water mark of RSS and its split by kind.
	PeakRSSBytes uint64 `json:"peak_rss_bytes"`
	AnonBytes    uint64 `json:"anon_bytes"`
	FileBytes    uint64 `json:"file_bytes"`
	ShmemBytes   uint64 `json:"shmem_bytes"`
	// From /proc/PID/smaps_rollup, read on a slower cadence: the last reading, 0 before the first.
	PSSBytes uint64 `json:"pss_bytes,omitempty"`
	USSBytes uint64 `json:"uss_bytes,omitempty"`
	// LazyFreeBytes is the part of RSS given back with MADV_FREE and not yet reclaimed: the
	// kernel takes it at the first memory pressure, so RSS − LazyFree is what the process holds.
	LazyFreeBytes uint64 `json:"lazy_free_bytes,omitempty"`
	// From /proc/PID/stat.
	Threads     int           `json:"threads"`
	CPUTime     time.Duration `json:"cpu_time_ns"`
	CPUPercent  float64       `json:"cpu_percent"`
	MinorFaults uint64        `json:"minor_faults"`
	MajorFaults uint64        `json:"major_faults"`
	FDs         int           `json:"fds"`
	// StartTicks is the start time in clock ticks since boot: with PID, the process's identity.
	StartTicks uint64 `json:"-"`
	ParentPID  int    `json:"-"`
}

// Add sums figures for a process tree's total. Peak RSS sums the members' peaks: an upper bound.
func (p *Process) Add(o Process) {
	p.RSSBytes += o.RSSBytes
	p.VSZBytes += o.VSZBytes
	p.PeakRSSBytes += o.PeakRSSBytes
	p.AnonBytes += o.AnonBytes
	p.FileBytes += o.FileBytes
	p.ShmemBytes += o.ShmemBytes
	p.PSSBytes += o.PSSBytes
	p.USSBytes += o.USSBytes
	p.LazyFreeBytes += o.LazyFreeBytes
	p.Threads += o.Threads
	p.CPUTime += o.CPUTime
	p.CPUPercent += o.CPUPercent
	p.MinorFaults += o.MinorFaults
	p.MajorFaults += o.MajorFaults
	p.FDs += o.FDs
}

// reader reads small procfs files into one reused buffer: the sampler's hot path.
type reader struct {
	buf []byte
}

// read reads path with raw system calls (rawio): the heartbeat reads these files while
// every P may be idle, and a scheduler-aware call would wake Go's sysmon.
func (r *reader) read(path string) ([]byte, error) {
	b, err := rawio.ReadFile(path, r.buf)
	r.buf = b
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && (pe.Err == unix.ESRCH || (pe.Op == "open" && pe.Err == unix.ENOENT)) {
			return nil, ErrExited
		}
		return nil, err
	}
	return b, nil
}

func (fs FS) path(pid int, file string) string {
	return filepath.Join(fs.root, strconv.Itoa(pid), file)
}
