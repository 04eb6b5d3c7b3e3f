//go:build race

package probe

// raceEnabled: the race detector's shadow memory adds to what touched memory shows as RSS.
const raceEnabled = true
