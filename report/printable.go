package report

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/allocscope/allocscope/record"
)

// Printable escapes control characters (C0, DEL, C1) as \xNN, so that no text from a record
// (a target's name, a --target's own output in an event, a path) can move the cursor,
// clear the screen, retitle the terminal or write the clipboard when shown.
func Printable(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			fmt.Fprintf(&b, `\x%02x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		// Every control character's encoding starts with a byte below 0x20, 0x7f or
		// 0xc2 (C1 is U+0080–U+009F): other bytes need no decoding.
		if c := s[i]; c < 0x20 || c == 0x7f || c == 0xc2 {
			for _, r := range s[i:] {
				if isControl(r) {
					return false
				}
			}
			return true
		}
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// PrintableRecord is r with its every text Printable: what the Markdown, the CSV, the SVG
// and the TUI render. The JSON export keeps the record as it is.
func PrintableRecord(r *record.Record) *record.Record {
	if r == nil {
		return nil
	}
	return PrintableValue(r)
}

// PrintableValue is v with every string in it Printable: struct fields, elements of
// slices and arrays, map keys and values, through pointers and interfaces, whatever the
// type, so a field added to the record later is escaped without anyone listing it. What
// holds nothing to escape is shared with v, not copied, so neither v nor the result may
// be changed in place.
func PrintableValue[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	// The TUI calls this for every new snapshot: a record with nothing to escape (nearly
	// all) is only read, without allocating.
	if !needsEscaping(rv) {
		return v
	}
	out, _ := printable(rv)
	return out.Interface().(T)
}

// needsEscaping says whether any string in v holds a control character.
func needsEscaping(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return !clean(v.String())
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && needsEscaping(v.Elem())
	case reflect.Struct:
		for _, i := range textFields(v.Type()) {
			if needsEscaping(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if !holdsText(v.Type().Elem()) {
			return false
		}
		for i := range v.Len() {
			if needsEscaping(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		if v.Len() == 0 || !holdsText(v.Type()) {
			return false
		}
		// The record's own maps, read without reflection's per-entry allocations.
		if v.CanInterface() {
			switch m := v.Interface().(type) {
			case map[string]string:
				for k, e := range m {
					if !clean(k) || !clean(e) {
						return true
					}
				}
				return false
			case map[string]uint64:
				for k := range m {
					if !clean(k) {
						return true
					}
				}
				return false
			}
		}
		for it := v.MapRange(); it.Next(); {
			if needsEscaping(it.Key()) || needsEscaping(it.Value()) {
				return true
			}
		}
	}
	return false
}

// printable returns v escaped and true, or v itself and false when it held nothing to
// escape.
func printable(v reflect.Value) (reflect.Value, bool) {
	if !needsEscaping(v) {
		return v, false
	}
	switch v.Kind() {
	case reflect.String:
		return reflect.ValueOf(Printable(v.String())).Convert(v.Type()), true
	case reflect.Pointer:
		elem, _ := printable(v.Elem())
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(elem)
		return p, true
	case reflect.Interface:
		elem, _ := printable(v.Elem())
		out := reflect.New(v.Type()).Elem()
		out.Set(elem)
		return out, true
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for _, i := range textFields(v.Type()) {
			if f, changed := printable(v.Field(i)); changed {
				out.Field(i).Set(f)
			}
		}
		return out, true
	case reflect.Slice, reflect.Array:
		var out reflect.Value
		if v.Kind() == reflect.Slice {
			out = reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(out, v)
		} else {
			out = reflect.New(v.Type()).Elem()
			out.Set(v)
		}
		for i := range v.Len() {
			if e, changed := printable(v.Index(i)); changed {
				out.Index(i).Set(e)
			}
		}
		return out, true
	case reflect.Map:
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			k, _ := printable(it.Key())
			e, _ := printable(it.Value())
			out.SetMapIndex(k, e)
		}
		return out, true
	}
	return v, false
}

// textTypes caches holdsText, and textFieldsOf textFields: a type's answer never changes.
var textTypes, textFieldsOf sync.Map // reflect.Type -> bool, []int

// holdsText says whether a value of type t can hold a string, so the walk skips the
// thousands of samples of a record (numbers only) without looking at them.
func holdsText(t reflect.Type) bool {
	if known, ok := textTypes.Load(t); ok {
		return known.(bool)
	}
	// A recursive type is assumed to hold text while its answer is being worked out.
	textTypes.Store(t, true)
	has := false
	switch t.Kind() {
	case reflect.String, reflect.Interface:
		has = true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		has = holdsText(t.Elem())
	case reflect.Map:
		has = holdsText(t.Key()) || holdsText(t.Elem())
	case reflect.Struct:
		has = len(textFields(t)) > 0
	}
	textTypes.Store(t, has)
	return has
}

// textFields are the indices of struct t's exported fields that can hold text (an
// unexported one cannot be set, and the record has none).
func textFields(t reflect.Type) []int {
	if known, ok := textFieldsOf.Load(t); ok {
		return known.([]int)
	}
	textFieldsOf.Store(t, []int(nil)) // a recursive type's fields are being worked out
	var fields []int
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && holdsText(f.Type) {
			fields = append(fields, i)
		}
	}
	textFieldsOf.Store(t, fields)
	return fields
}

// printableWriter escapes, as Printable does, every control character that reaches w
// except newline and tab: a report's every byte, whether or not it came from a record.
type printableWriter struct {
	w io.Writer
	// held is the start of a character split across two writes.
	held []byte
}

func (p *printableWriter) Write(b []byte) (int, error) {
	data := append(p.held, b...)
	p.held = nil
	var out []byte
	for i := 0; i < len(data); {
		c := data[i]
		if c >= 0x80 && !utf8.FullRune(data[i:]) {
			p.held = append([]byte(nil), data[i:]...)
			break
		}
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			// Not UTF-8: a terminal reading bytes might take 0x9b for a CSI.
			out = fmt.Appendf(out, `\x%02x`, c)
		case isControl(r) && r != '\n' && r != '\t':
			out = fmt.Appendf(out, `\x%02x`, r)
		default:
			out = append(out, data[i:i+n]...)
		}
		i += n
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Close writes the bytes of a character left incomplete at the end, escaped: they are
// not one.
func (p *printableWriter) Close() error {
	if len(p.held) == 0 {
		return nil
	}
	var out []byte
	for _, c := range p.held {
		out = fmt.Appendf(out, `\x%02x`, c)
	}
	p.held = nil
	_, err := p.w.Write(out)
	return err
}

// writePrintable writes s to w through a printableWriter.
func writePrintable(w io.Writer, s string) error {
	p := &printableWriter{w: w}
	if _, err := io.WriteString(p, s); err != nil {
		return err
	}
	return p.Close()
}

// mdCell makes text safe inside a Markdown table cell or heading: a pipe would end the
// cell, and HTML would be rendered.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}
