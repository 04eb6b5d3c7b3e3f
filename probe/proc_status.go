package probe

import "bytes"

// status holds the fields of /proc/PID/status that statm lacks, in bytes.
type status struct {
	hwmBytes, anonBytes, fileBytes, shmemBytes uint64
}

var (
	keyHWM   = []byte("VmHWM:")
	keyAnon  = []byte("RssAnon:")
	keyFile  = []byte("RssFile:")
	keyShmem = []byte("RssShmem:")
)

// parseStatus picks four "Key:   N kB" lines out of /proc/PID/status without allocating.
func parseStatus(b []byte) status {
	var s status
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		var dst *uint64
		switch {
		case bytes.HasPrefix(line, keyHWM):
			dst = &s.hwmBytes
		case bytes.HasPrefix(line, keyAnon):
			dst = &s.anonBytes
		case bytes.HasPrefix(line, keyFile):
			dst = &s.fileBytes
		case bytes.HasPrefix(line, keyShmem):
			dst = &s.shmemBytes
		default:
			continue
		}
		*dst = kibField(line) * 1024
	}
	return s
}

func kibField(line []byte) uint64 {
	var v uint64
	for _, c := range line[bytes.IndexByte(line, ':')+1:] {
		if c >= '0' && c <= '9' {
			v = v*10 + uint64(c-'0')
		} else if v > 0 {
			break
		}
	}
	return v
}
