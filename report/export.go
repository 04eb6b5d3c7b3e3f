package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/allocscope/allocscope/record"
)

// Export writes r to path atomically, in format (or the one its extension names).
func Export(path, format string, r *record.Record) error {
	return ExportCharted(path, format, r, nil)
}

// ExportCharted is Export with a chart's metrics (nil for RSS).
func ExportCharted(path, format string, r *record.Record, metrics []string) error {
	if format == "" {
		f, ok := FormatFromPath(path)
		if !ok {
			return fmt.Errorf("cannot tell the format of %s from its extension: use .md, .json, .csv, .svg or .png", path)
		}
		format = f
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("cannot write %s: directory %s does not exist", path, dir)
	}
	var buf bytes.Buffer
	if err := WriteCharted(&buf, r, format, metrics); err != nil {
		return err
	}
	return record.WriteFileAtomic(path, buf.Bytes())
}

// Summary writes the summary table and the conclusion only: the headless run's stdout.
func Summary(w *bytes.Buffer, r *record.Record) error {
	var full bytes.Buffer
	if err := Markdown(&full, r); err != nil {
		return err
	}
	s := full.String()
	for _, heading := range []string{"\n## Summary\n", "\n## Sweep of "} {
		if i := strings.Index(s, heading); i >= 0 {
			s = s[i+1:]
			break
		}
	}
	w.WriteString(s)
	return nil
}
