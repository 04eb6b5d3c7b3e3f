package probe

// smapsRollup reads /proc/PID/smaps_rollup through procfs. It is kept off the fast
// path: its cost grows with the mappings and it takes the target's mmap lock.
func (fs FS) smapsRollup(pid int) (pssBytes, ussBytes uint64, err error) {
	p, err := fs.procfs.Proc(pid)
	if err != nil {
		return 0, 0, ErrExited
	}
	r, err := p.ProcSMapsRollup()
	if err != nil {
		return 0, 0, err
	}
	return r.Pss, r.PrivateClean + r.PrivateDirty, nil
}

// fdCount counts /proc/PID/fd through procfs (a stat on Linux 6.2+, a directory read before).
func (fs FS) fdCount(pid int) int {
	p, err := fs.procfs.Proc(pid)
	if err != nil {
		return 0
	}
	n, _ := p.FileDescriptorsLen()
	return n
}
