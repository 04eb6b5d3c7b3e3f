//go:build race

package report

// raceEnabled: the race detector slows the 24-hour record test tenfold, past its worth.
const raceEnabled = true
