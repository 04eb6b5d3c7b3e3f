package loadgen

import "time"

// Pacer is an open-loop schedule in vegeta's shape: given the time elapsed since the
// schedule began and the sends made so far, how long until the next send is due (0: now).
// It reads no clock, so a schedule is tested without one.
type Pacer interface {
	Pace(elapsed time.Duration, sent uint64) (wait time.Duration)
}

// ConstantPacer sends one request every Interval.
type ConstantPacer struct {
	Interval time.Duration
}

// Pace implements Pacer.
func (p ConstantPacer) Pace(elapsed time.Duration, sent uint64) time.Duration {
	next := time.Duration(sent) * p.Interval
	if next <= elapsed {
		return 0
	}
	return next - elapsed
}

// due counts the sends a pacer has due at elapsed, at most free, after sent so far.
func due(p Pacer, elapsed time.Duration, sent uint64, free int) int {
	n := 0
	for n < free && p.Pace(elapsed, sent+uint64(n)) == 0 {
		n++
	}
	return n
}
