package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/allocscope/allocscope/record"
)

// controls are what a terminal acts on: ESC, BEL, and the C1 CSI.
const controls = "\x1b\x07\u009b"

// evilRecord holds an escape in the texts the issue named and in some others: the
// settings read back, the issues found in them, a lane's mode, a purge's call.
func evilRecord() *record.Record {
	r := fiveRuns([]float64{500}, []float64{455}, []float64{30e3}, []float64{31e3})
	t := &r.Targets[0]
	t.Env = map[string]string{"MALLOC_ARENA_MAX": "2"}
	t.SettingIssues = []string{"bad\x1b]0;PWNED2\a\x1b[2J"}
	t.Settings = map[string]string{"opt\x1b[31m": "on\x1b]52;c;aGk=\a"}
	t.Mode = "arena\x1b[2J"
	t.Runs[0].LoadError = "worker \x1b[1Adied"
	t.Runs[0].Purges = []record.Purge{{Call: "trim\u009b2J"}}
	return r
}

// laneWithMore is what the record may grow into: a target with a text field no one has
// told the report about.
type laneWithMore struct {
	record.Target
	Notes   []string
	Comment *string
	ByName  map[string][]string
	Any     any
}

func TestPrintableValueEscapesAFieldItWasNeverToldAbout(t *testing.T) {
	comment := "see \x1b]0;title\x07"
	in := laneWithMore{
		Target:  record.Target{Name: "ok", SettingIssues: []string{"x\x1b[2J"}},
		Notes:   []string{"fine", "ring\a"},
		Comment: &comment,
		ByName:  map[string][]string{"k\x1b": {"v\x1b"}},
		Any:     "y\x1b[H",
	}
	out := PrintableValue(in)
	var all strings.Builder
	all.WriteString(out.Name + out.SettingIssues[0] + out.Notes[0] + out.Notes[1] + *out.Comment + out.Any.(string))
	for k, vs := range out.ByName {
		all.WriteString(k + strings.Join(vs, ""))
	}
	if strings.ContainsAny(all.String(), controls) {
		t.Fatalf("a control character is left: %q", all.String())
	}
	if got, want := out.Notes[1], `ring\x07`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// The input is left as it was: the view and the JSON export still hold it.
	if in.Notes[1] != "ring\a" || comment != "see \x1b]0;title\x07" || in.SettingIssues[0] != "x\x1b[2J" {
		t.Fatal("PrintableValue changed its input")
	}
}

func TestPrintableRecordSharesACleanRecord(t *testing.T) {
	r := fiveRuns([]float64{500}, []float64{455}, []float64{30e3}, []float64{31e3})
	if PrintableRecord(r) != r {
		t.Fatal("a record with nothing to escape is copied")
	}
}

func TestEveryReportFormatEscapesTheNewFields(t *testing.T) {
	r := evilRecord()
	for _, format := range Formats {
		var b bytes.Buffer
		if err := Write(&b, r, format); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if format == "json" || format == "png" {
			continue // JSON escapes them itself, and keeps the record as it was; a PNG is pixels
		}
		if i := strings.IndexAny(b.String(), controls); i >= 0 {
			t.Fatalf("%s output holds a control character at %d: %q", format, i, b.String()[max(i-40, 0):min(i+40, b.Len())])
		}
	}
	var md strings.Builder
	Markdown(&md, r)
	if !strings.Contains(md.String(), `bad\x1b]0;PWNED2\x07\x1b[2J`) {
		t.Fatalf("the ignored setting is not shown escaped:\n%s", md.String())
	}
}

func TestPrintableWriterEscapesWhatNoRecordHeld(t *testing.T) {
	var b bytes.Buffer
	pw := &printableWriter{w: &b}
	in := "line\tone\n\x1b[2Jé\u009b\r\x00end"
	// Written a byte at a time, so that é and the C1 CSI are split across writes.
	for i := range len(in) {
		pw.Write([]byte{in[i]})
	}
	pw.Write([]byte{0xc3}) // a character cut short at the end
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "line\tone\n\\x1b[2Jé\\x9b\\x0d\\x00end\\xc3"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
