// Package report renders a run record as Markdown, JSON, CSV or SVG. It reads the record only.
package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/units"
)

// Formats lists the output formats by name.
var Formats = []string{"md", "json", "csv", "svg", "png"}

// Write renders r in format ("md", "json", "csv", "svg" or "png"); a chart shows RSS.
func Write(w io.Writer, r *record.Record, format string) error {
	return WriteCharted(w, r, format, nil)
}

// WriteCharted is Write with a chart's metrics (one panel each; nil for RSS), or the
// trade-off chart ([ChartPareto]).
func WriteCharted(w io.Writer, r *record.Record, format string, metrics []string) error {
	switch strings.ToLower(format) {
	case "md", "markdown":
		return Markdown(w, r)
	case "json":
		return record.Encode(w, r)
	case "csv":
		return CSV(w, r)
	case "svg", "png":
		if len(metrics) == 1 && metrics[0] == ChartPareto {
			return ParetoChart(w, r, ChartOptions{Format: strings.ToLower(format)})
		}
		return Chart(w, r, ChartOptions{Format: strings.ToLower(format), Metrics: metrics})
	}
	return fmt.Errorf("unknown format %q: choose from %s", format, strings.Join(Formats, ", "))
}

// FormatFromPath guesses the format from a file name's extension.
func FormatFromPath(path string) (string, bool) {
	for _, f := range Formats {
		if strings.HasSuffix(strings.ToLower(path), "."+f) {
			return f, true
		}
	}
	if strings.HasSuffix(strings.ToLower(path), ".markdown") {
		return "md", true
	}
	return "", false
}

// MiB formats bytes as MiB with one decimal (units.MiBs, the one formatter for it).
func MiB(b float64) string { return units.MiBs(b) }

// Bytes formats bytes with a binary unit (units.Bytes).
func Bytes(b float64) string { return units.Bytes(b) }

// Millis formats nanoseconds as milliseconds.
func Millis(ns float64) string {
	ms := ns / float64(time.Millisecond)
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	if ms < 10 {
		return fmt.Sprintf("%.2f ms", ms)
	}
	return fmt.Sprintf("%.1f ms", ms)
}

// Rate formats a rate per second (units.Count).
func Rate(v float64) string { return units.Count(v) }

// Figure renders a summary figure, with ± half the min–max spread over several runs.
func Figure(f record.Figure, unit func(float64) string) string {
	if !f.Known() {
		return "n/a"
	}
	if f.N > 1 {
		return unit(f.Median) + " ± " + unit((f.Max-f.Min)/2)
	}
	return unit(f.Median)
}

// LoadFigure is a load figure (req/s, latency, errors), which the user's own load tool
// (run --load-command) may not have given: then "n/a (external load)".
func LoadFigure(f record.Figure, unit func(float64) string, external bool) string {
	if !f.Known() && external {
		return "n/a (external load)"
	}
	return Figure(f, unit)
}

// Ratio is a/b for the Relative column: "1.00" for the reference.
func Ratio(a, b record.Figure) string {
	if !a.Known() || !b.Known() || b.Median == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a.Median/b.Median)
}

// Count formats a whole count.
func Count(v float64) string { return fmt.Sprintf("%.0f", math.Round(v)) }
