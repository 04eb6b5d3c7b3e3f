package report

import (
	"fmt"
	"strings"

	"github.com/allocscope/allocscope/record"
)

// Printable escapes control characters (C0, DEL, C1) as \xNN, so that no text from a record
// (a target's name, a --target's own output in an event, a path) can move the cursor,
// clear the screen, retitle the terminal or write the clipboard when shown.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if isControl(r) {
			clean = false
			break
		}
	}
	if clean {
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

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// PrintableRecord is a copy of r whose every text is Printable: what the Markdown, the
// CSV, the SVG and the TUI render. The JSON export keeps the record as it is.
func PrintableRecord(r *record.Record) *record.Record {
	// The TUI calls this for every frame: a record with nothing to escape (nearly all)
	// is returned as it is, without the deep copy.
	if !needsEscaping(r) {
		return r
	}
	c := r.Clone()
	p := Printable
	c.Machine.OS, c.Machine.Kernel, c.Machine.Arch, c.Machine.CPUModel = p(c.Machine.OS), p(c.Machine.Kernel), p(c.Machine.Arch), p(c.Machine.CPUModel)
	c.Machine.Virtualization, c.Machine.THP, c.Machine.THPDefrag, c.Machine.OvercommitMode = p(c.Machine.Virtualization), p(c.Machine.THP), p(c.Machine.THPDefrag), p(c.Machine.OvercommitMode)
	c.Tool.Version, c.Tool.GoVersion = p(c.Tool.Version), p(c.Tool.GoVersion)
	c.Tool.Versions = printableMap(c.Tool.Versions)
	c.State = p(c.State)
	c.Plan.Scenario, c.Plan.Path, c.Plan.LoadCommand = p(c.Plan.Scenario), p(c.Plan.Path), p(c.Plan.LoadCommand)
	for i := range c.Plan.Allocators {
		c.Plan.Allocators[i] = p(c.Plan.Allocators[i])
	}
	c.Plan.Method = p(c.Plan.Method)
	for i := range c.Plan.Mix {
		c.Plan.Mix[i].Method, c.Plan.Mix[i].URL = p(c.Plan.Mix[i].Method), p(c.Plan.Mix[i].URL)
	}
	for i := range c.Events {
		e := &c.Events[i]
		e.Target, e.Kind, e.Message = p(e.Target), p(e.Kind), p(e.Message)
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		t.URL, t.MemoryFrom = p(t.URL), p(t.MemoryFrom)
		t.Name, t.Allocator, t.Kind, t.Binary, t.Preload = p(t.Name), p(t.Allocator), record.TargetKind(p(string(t.Kind))), p(t.Binary), p(t.Preload)
		for j := range t.Command {
			t.Command[j] = p(t.Command[j])
		}
		if t.Env != nil {
			t.Env = printableMap(t.Env)
		}
		for j := range t.Runs {
			run := &t.Runs[j]
			run.Addr = p(run.Addr)
			for k := range run.Heap {
				run.Heap[k].Version = p(run.Heap[k].Version)
			}
			if run.Exit != nil {
				run.Exit.Signal = p(run.Exit.Signal)
			}
			if run.Result != nil {
				run.Result.Engine = p(run.Result.Engine)
			}
		}
	}
	return c
}

// needsEscaping says whether any text of r holds a control character.
func needsEscaping(r *record.Record) bool {
	dirty := func(ss ...string) bool {
		for _, s := range ss {
			if Printable(s) != s {
				return true
			}
		}
		return false
	}
	dirtyMap := func(m map[string]string) bool {
		for k, v := range m {
			if dirty(k, v) {
				return true
			}
		}
		return false
	}
	m := r.Machine
	if dirty(m.OS, m.Kernel, m.Arch, m.CPUModel, m.Virtualization, m.THP, m.THPDefrag, m.OvercommitMode, r.Tool.Version, r.Tool.GoVersion, r.State,
		r.Plan.Scenario, r.Plan.Path, r.Plan.LoadCommand, r.Plan.Method) || dirty(r.Plan.Allocators...) || dirtyMix(r.Plan.Mix) || dirtyMap(r.Tool.Versions) {
		return true
	}
	for _, e := range r.Events {
		if dirty(e.Target, e.Kind, e.Message) {
			return true
		}
	}
	for _, t := range r.Targets {
		if dirty(t.Name, t.Allocator, string(t.Kind), t.Binary, t.Preload, t.URL, t.MemoryFrom) || dirty(t.Command...) || dirtyMap(t.Env) {
			return true
		}
		for _, run := range t.Runs {
			if dirty(run.Addr) || (run.Exit != nil && dirty(run.Exit.Signal)) || (run.Result != nil && dirty(run.Result.Engine)) {
				return true
			}
			for _, h := range run.Heap {
				if dirty(h.Version) {
					return true
				}
			}
		}
	}
	return false
}

func printableMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[Printable(k)] = Printable(v)
	}
	return out
}

// mdCell makes text safe inside a Markdown table cell or heading: a pipe would end the
// cell, and HTML would be rendered.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}

func dirtyMix(mix []record.MixRequest) bool {
	for _, m := range mix {
		if Printable(m.Method) != m.Method || Printable(m.URL) != m.URL {
			return true
		}
	}
	return false
}
