// Package units formats byte sizes and counts for people: one formatter per style, used by
// every view (tui, report, cmd, loadgen), so that a figure reads the same wherever it is
// printed. It imports nothing of allocscope's.
package units

import (
	"fmt"
	"strconv"
)

// Binary multiples of a byte.
const (
	KiB = 1 << 10
	MiB = 1 << 20
	GiB = 1 << 30
)

// InMiB is bytes in mebibytes, for charts whose axis is in MiB.
func InMiB(bytes float64) float64 { return bytes / MiB }

// MiBs formats bytes as mebibytes with one decimal: "12.3 MiB". Tables and progress
// lines use it, so that columns compare at a glance.
func MiBs(bytes float64) string { return fmt.Sprintf("%.1f MiB", bytes/MiB) }

// WholeMiBs formats a size set by the user (a memory limit): "256 MiB" when it is a
// whole number of MiB, else with one decimal.
func WholeMiBs(bytes uint64) string {
	if bytes%MiB == 0 {
		return fmt.Sprintf("%d MiB", bytes/MiB)
	}
	return MiBs(float64(bytes))
}

// ShortMiBs formats bytes in the fewest characters, for a TUI panel: "12.3M", "1.25G".
func ShortMiBs(bytes float64) string {
	if m := bytes / MiB; m < 1024 {
		return fmt.Sprintf("%.1fM", m)
	}
	return fmt.Sprintf("%.2fG", bytes/GiB)
}

// Bytes formats bytes with the binary unit that suits their size: "512 B", "3.2 KiB",
// "12.3 MiB", "1.25 GiB".
func Bytes(bytes float64) string {
	switch {
	case bytes >= GiB:
		return fmt.Sprintf("%.2f GiB", bytes/GiB)
	case bytes >= MiB:
		return fmt.Sprintf("%.1f MiB", bytes/MiB)
	case bytes >= KiB:
		return fmt.Sprintf("%.1f KiB", bytes/KiB)
	}
	return fmt.Sprintf("%.0f B", bytes)
}

// WholeKiBs is bytes in whole kibibytes, rounded down, as /proc reports them: "1024".
func WholeKiBs(bytes uint64) string { return strconv.FormatUint(bytes/KiB, 10) }

// Count formats a count or rate for a table: whole below ten thousand ("9876"), then
// "12.3k" and "1.23M".
func Count(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// ShortCount formats a count or rate in the fewest characters, for a TUI panel:
// "987", "1.2k", "3.4M".
func ShortCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// SI formats a count with a space and an SI prefix, for a unit to follow, as autocannon
// prints its figures: "987 ", "1.2 k", "3.45 M", "1.20 G" (then "B" or " req/s").
func SI(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2f G", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f k", v/1e3)
	}
	return fmt.Sprintf("%.0f ", v)
}
