package probe

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/allocscope/allocscope/internal/rawio"
)

// ReadProcess reads one process now. wantStartTicks, when not 0, is the start time the
// PID had when first seen: a different one means the PID was reused, and ErrExited.
func (fs FS) ReadProcess(pid int, wantStartTicks uint64) (Process, error) {
	var r reader
	return fs.readProcess(&r, pid, wantStartTicks)
}

func (fs FS) readProcess(r *reader, pid int, wantStartTicks uint64) (Process, error) {
	b, err := r.read(fs.path(pid, "stat"))
	if err != nil {
		return Process{}, err
	}
	st, err := parseStat(b)
	if err != nil {
		return Process{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	if st.state == 'Z' || st.state == 'X' || (wantStartTicks != 0 && st.startTicks != wantStartTicks) {
		return Process{}, ErrExited
	}
	p := Process{
		PID:         pid,
		Comm:        string(st.comm),
		Threads:     st.threads,
		MinorFaults: st.minflt,
		MajorFaults: st.majflt,
		CPUTime:     time.Duration((st.utimeTicks+st.stimeTicks)*uint64(time.Second)) / time.Duration(fs.userHZ),
		StartTicks:  st.startTicks,
		ParentPID:   st.ppid,
	}
	if b, err = r.read(fs.path(pid, "statm")); err != nil {
		return Process{}, err
	}
	sm, err := parseStatm(b)
	if err != nil {
		return Process{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	p.RSSBytes = sm.residentPages * fs.pageSize
	p.VSZBytes = sm.sizePages * fs.pageSize
	if b, err = r.read(fs.path(pid, "status")); err != nil {
		return Process{}, err
	}
	s := parseStatus(b)
	p.PeakRSSBytes, p.AnonBytes, p.FileBytes, p.ShmemBytes = s.hwmBytes, s.anonBytes, s.fileBytes, s.shmemBytes
	p.FDs = fs.fdCount(pid)
	return p, nil
}

// Check says, in one line, why a PID cannot be watched, or nil.
func (fs FS) Check(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("%d is not a process ID: PIDs are positive whole numbers", pid)
	}
	_, err := fs.ReadProcess(pid, 0)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrExited):
		return fmt.Errorf("no process with PID %d (see 'ps' for running ones)", pid)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("cannot read process %d: permission denied (run as its user or root)", pid)
	}
	return fmt.Errorf("cannot read process %d: %w", pid, err)
}

// children maps each PID to its child PIDs, from every /proc/PID/stat. This kernel has
// no /proc/PID/task/TID/children, so the whole table is the only way down a tree.
// A tree target's beat lists the table, so it is listed with raw calls (rawio).
func (fs FS) children(r *reader) (map[int][]int, error) {
	names, err := rawio.Names(fs.root)
	if err != nil {
		return nil, err
	}
	slices.Sort(names) // as os.ReadDir did: the members' order follows it
	kids := make(map[int][]int)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		b, err := r.read(fs.path(pid, "stat"))
		if err != nil {
			continue
		}
		if st, err := parseStat(b); err == nil {
			kids[st.ppid] = append(kids[st.ppid], pid)
		}
	}
	return kids, nil
}

// Descendants lists root's descendants, nearest first.
func (fs FS) Descendants(root int) ([]int, error) {
	var r reader
	kids, err := fs.children(&r)
	if err != nil {
		return nil, err
	}
	return descendants(kids, root), nil
}

func descendants(kids map[int][]int, root int) []int {
	var out []int
	queue := append([]int(nil), kids[root]...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		out = append(out, pid)
		queue = append(queue, kids[pid]...)
	}
	return out
}
