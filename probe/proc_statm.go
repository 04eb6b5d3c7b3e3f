package probe

import "fmt"

// statm holds /proc/PID/statm's first two fields, in pages.
type statm struct {
	sizePages, residentPages uint64
}

// parseStatm reads "size resident shared text lib data dt" without allocating.
func parseStatm(b []byte) (statm, error) {
	var s statm
	var field int
	var v uint64
	inNum := false
	for _, c := range b {
		if c >= '0' && c <= '9' {
			v = v*10 + uint64(c-'0')
			inNum = true
			continue
		}
		if inNum {
			switch field {
			case 0:
				s.sizePages = v
			case 1:
				s.residentPages = v
				return s, nil
			}
			field++
			v, inNum = 0, false
		}
	}
	if inNum && field == 1 {
		s.residentPages = v
		return s, nil
	}
	return s, fmt.Errorf("statm %q: want at least two numbers", b)
}
