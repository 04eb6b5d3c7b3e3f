package probe

import (
	"bytes"
	"fmt"
	"math"
)

// stat holds the fields of /proc/PID/stat that the probe uses.
type stat struct {
	comm                   []byte
	state                  byte
	ppid                   int
	minflt, majflt         uint64
	utimeTicks, stimeTicks uint64
	// The CPU of the process's waited-for descendants, reaped into it.
	cutimeTicks, cstimeTicks uint64
	threads                  int
	startTicks, vsizeBytes   uint64
}

// parseStat parses /proc/PID/stat without allocating. The command name may hold spaces
// and parentheses, so it ends at the last ')', as procfs does.
func parseStat(b []byte) (stat, error) {
	var s stat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 >= len(b) {
		return s, fmt.Errorf("stat %q: no command name in parentheses", b)
	}
	s.comm = b[open+1 : end]
	rest := b[end+2:]
	// Fields are numbered from 3 (state) after the name, as in proc(5).
	for field := 3; len(rest) > 0; field++ {
		tok := rest
		if i := bytes.IndexByte(rest, ' '); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		switch field {
		case 3:
			if len(tok) == 0 {
				return s, fmt.Errorf("stat %q: empty state field", b)
			}
			s.state = tok[0]
		case 4:
			s.ppid = atoi(tok)
		case 10:
			s.minflt = atou(tok)
		case 12:
			s.majflt = atou(tok)
		case 14:
			s.utimeTicks = atou(tok)
		case 15:
			s.stimeTicks = atou(tok)
		case 16:
			s.cutimeTicks = atou(tok)
		case 17:
			s.cstimeTicks = atou(tok)
		case 20:
			s.threads = atoi(tok)
		case 22:
			s.startTicks = atou(tok)
		case 23:
			s.vsizeBytes = atou(tok)
			return s, nil
		}
	}
	return s, fmt.Errorf("stat %q: fewer than 23 fields", b)
}

// atoi is atou for int fields, saturated so that garbage cannot turn negative.
func atoi(b []byte) int { return int(min(atou(b), math.MaxInt32)) }

// atou reads the leading decimal digits of b.
func atou(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + uint64(c-'0')
	}
	return v
}
