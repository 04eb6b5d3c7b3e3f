package probe

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrPeakResetRefused means the kernel would not reset a process's RSS high-water mark:
// it belongs to another user, or the kernel predates Linux 4.0.
var ErrPeakResetRefused = errors.New("resetting the RSS high-water mark was refused")

// ResetPeakRSS resets pid's RSS high-water mark (VmHWM in /proc/PID/status) to its
// current RSS, by writing 5 to /proc/PID/clear_refs (Linux 4.0+, the process's owner or
// root). From then on VmHWM is the exact peak since this call, not since the process
// started, which is what a per-phase peak needs.
func (fs FS) ResetPeakRSS(pid int) error {
	fd, err := unix.Open(fs.path(pid, "clear_refs"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return resetError(pid, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte("5")); err != nil {
		return resetError(pid, err)
	}
	return nil
}

func resetError(pid int, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH):
		return ErrExited
	case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL):
		return fmt.Errorf("pid %d: %w (%v)", pid, ErrPeakResetRefused, err)
	}
	return &os.PathError{Op: "write", Path: fmt.Sprintf("/proc/%d/clear_refs", pid), Err: err}
}

// PeakRSS reads pid's RSS high-water mark (VmHWM) in bytes.
func (fs FS) PeakRSS(pid int) (uint64, error) {
	var r reader
	b, err := r.read(fs.path(pid, "status"))
	if err != nil {
		return 0, err
	}
	return parseStatus(b).hwmBytes, nil
}

// TreePeak is the peak RSS of a process, or of a process and its descendants.
type TreePeak struct {
	Bytes uint64
	// Members is how many processes were summed: above 1, Bytes is an upper bound,
	// since the members' peaks need not have happened at the same moment.
	Members int
}

// ResetTreePeakRSS resets the high-water mark of pid and, with tree, of every
// descendant. It returns the first refusal; a member that exited meanwhile is skipped.
func (fs FS) ResetTreePeakRSS(pid int, tree bool) error {
	if err := fs.ResetPeakRSS(pid); err != nil {
		return err
	}
	if !tree {
		return nil
	}
	kids, err := fs.Descendants(pid)
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err := fs.ResetPeakRSS(k); err != nil && !errors.Is(err, ErrExited) {
			return err
		}
	}
	return nil
}

// TreePeakRSS sums the high-water marks of pid and, with tree, its descendants.
func (fs FS) TreePeakRSS(pid int, tree bool) (TreePeak, error) {
	hwm, err := fs.PeakRSS(pid)
	if err != nil {
		return TreePeak{}, err
	}
	p := TreePeak{Bytes: hwm, Members: 1}
	if !tree {
		return p, nil
	}
	kids, err := fs.Descendants(pid)
	if err != nil {
		return p, err
	}
	for _, k := range kids {
		if v, err := fs.PeakRSS(k); err == nil {
			p.Bytes += v
			p.Members++
		}
	}
	return p, nil
}
