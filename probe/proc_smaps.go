package probe

import (
	"bytes"

	"github.com/allocscope/allocscope/internal/rawio"
)

// smapsRollup holds the fields of /proc/PID/smaps_rollup that allocscope records, in bytes.
type smapsRollup struct {
	rssBytes, pssBytes, ussBytes, anonBytes uint64
	// lazyFreeBytes are pages given back with MADV_FREE that the kernel has not yet
	// reclaimed: they still count in RSS, yet go at the first memory pressure
	// (proc(5), "LazyFree"; kernel 4.12 on). procfs's ProcSMapsRollup has no field for it.
	lazyFreeBytes uint64
}

// smapsRollup reads /proc/PID/smaps_rollup. It is kept off the fast path: its cost grows
// with the mappings and it takes the target's mmap lock.
func (fs FS) smapsRollup(r *reader, pid int) (smapsRollup, error) {
	b, err := r.read(fs.path(pid, "smaps_rollup"))
	if err != nil {
		return smapsRollup{}, err
	}
	return parseSmapsRollup(b), nil
}

// parseSmapsRollup reads "Key:   N kB" lines; a key the kernel does not write stays 0.
func parseSmapsRollup(b []byte) smapsRollup {
	var s smapsRollup
	var privClean, privDirty uint64
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		key, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *uint64
		switch string(key) {
		case "Rss":
			dst = &s.rssBytes
		case "Pss":
			dst = &s.pssBytes
		case "Private_Clean":
			dst = &privClean
		case "Private_Dirty":
			dst = &privDirty
		case "Anonymous":
			dst = &s.anonBytes
		case "LazyFree":
			dst = &s.lazyFreeBytes
		default:
			continue
		}
		*dst = kibField(line) * 1024
	}
	s.ussBytes = privClean + privDirty
	return s
}

// fdCount counts /proc/PID/fd as prometheus/procfs's FileDescriptorsLen does (its size
// on Linux 6.2+, a directory read before), with raw calls: it is read at each beat.
func (fs FS) fdCount(pid int) int {
	dir := fs.path(pid, "fd")
	if fs.realProc {
		n, err := rawio.Size(dir)
		if err != nil {
			return 0
		}
		if n > 0 {
			return int(n)
		}
	}
	n, err := rawio.Count(dir)
	if err != nil {
		return 0
	}
	return n
}
