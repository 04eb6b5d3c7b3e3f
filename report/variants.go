package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/allocscope/allocscope/record"
)

// writeSettings is the table of each lane's allocator settings: what was asked, what
// the allocator reports running with, and whether it took effect.
func writeSettings(b *strings.Builder, r *record.Record) {
	show := false
	for _, t := range r.Targets {
		show = show || len(t.Env) > 0 || len(t.SettingIssues) > 0 || t.Mode != ""
	}
	if !show {
		return
	}
	b.WriteString("\n### Allocator settings\n\n")
	b.WriteString("| Target | Asked | Allocator runs with | Took effect |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		asked := askedSettings(t)
		effect := "yes"
		switch {
		case len(t.SettingIssues) > 0:
			effect = "**no: " + mdCell(strings.Join(t.SettingIssues, "; ")) + "**"
		case len(t.Settings) == 0 && len(t.Env) > 0 && len(t.Proof) == 0:
			effect = "not checked (the allocator reports no settings)"
		case len(t.SettingsUnchecked) > 0 && len(t.Proof) > 0:
			effect = "reached the process; its effect not checked: " + mdCell(strings.Join(t.SettingsUnchecked, ", ")) + " (the allocator cannot show it)"
		case len(t.SettingsUnchecked) > 0:
			effect = "not checked: " + mdCell(strings.Join(t.SettingsUnchecked, ", ")) + " (the allocator cannot show it)"
		case len(t.Env) == 0 && t.Mode == "":
			effect = "n/a (as shipped)"
		}
		runs := runsWith(t)
		if len(t.Proof) > 0 {
			if runs == "n/a" {
				runs = ""
			} else {
				runs += "; "
			}
			runs += strings.Join(t.Proof, "; ")
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", mdCell(t.Name), mdCell(asked), mdCell(runs), effect)
	}
	b.WriteString("\nThe allocator's own settings are read back from it by the server's /stats (jemalloc's opt.* through mallctl, mimalloc's mi_option_get, tcmalloc's properties and release rate, glibc's arena count from malloc_info), at start and again at the end of the run. A setting did not take effect when the allocator does not read that variable, printed a complaint about it at start, or runs with another value.")
	if anyProof(r) {
		b.WriteString(" Of a preloaded lane and a --target lane, /proc shows the rest, whatever the program: whether the library is mapped in each of its processes (/proc/PID/maps), whether each setting is in their environment (/proc/PID/environ), and glibc's arenas (its 64 MiB heaps in /proc/PID/maps, told apart by each heap's header in /proc/PID/mem).")
	}
	b.WriteString("\n")
}

func anyProof(r *record.Record) bool {
	for _, t := range r.Targets {
		if len(t.Proof) > 0 {
			return true
		}
	}
	return false
}

func askedSettings(t record.Target) string {
	var out []string
	for k, v := range t.Env {
		if k != "LD_PRELOAD" {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	if t.Mode == "arena" {
		out = append(out, "per-request bump arena (+arena)")
	}
	if len(out) == 0 {
		return "as shipped"
	}
	return strings.Join(out, " ")
}

// runsWith lists the allocator's settings. An allocator with many (mimalloc has over
// twenty options) shows only those the lane asked for: a variable named after the
// setting (MIMALLOC_DECOMMIT_DELAY for decommit_delay).
func runsWith(t record.Target) string {
	if len(t.Settings) == 0 {
		return "n/a"
	}
	var keys []string
	for k := range t.Settings {
		if len(t.Settings) <= manySettings || askedFor(t.Env, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "defaults"
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + t.Settings[k]
	}
	return strings.Join(out, " ")
}

// manySettings is the most settings the table lists whole.
const manySettings = 8

func askedFor(env map[string]string, setting string) bool {
	for name := range env {
		if strings.HasSuffix(name, "_"+strings.ToUpper(setting)) {
			return true
		}
	}
	return false
}

// writePurge is the purge phase's table: what each allocator gave back when asked.
func writePurge(b *strings.Builder, r *record.Record, sums []record.Summary) {
	if !record.AnyPurged(sums) {
		return
	}
	b.WriteString("\n### Purge\n\n")
	b.WriteString("| Target | Call | RSS after cooldown | RSS after purge | Given back | Live heap then |\n|---|---|---:|---:|---:|---:|\n")
	for i, s := range sums {
		call := "n/a"
		if runs := r.Targets[i].Runs; len(runs) > 0 && len(runs[0].Purges) > 0 {
			p := runs[0].Purges[0]
			call = "`" + p.Call + "`"
			if p.Error != "" {
				call = "failed: " + mdCell(p.Error)
			}
		}
		given := "n/a"
		if s.RSSAfterPurge.Known() && s.RSSAfterCooldown.Known() && s.RSSAfterCooldown.Median > 0 {
			d := s.RSSAfterCooldown.Median - s.RSSAfterPurge.Median
			given = fmt.Sprintf("%s (%.0f%%)", MiB(d), 100*d/s.RSSAfterCooldown.Median)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", mdCell(s.Target), call, Figure(s.RSSAfterCooldown, MiB), Figure(s.RSSAfterPurge, MiB), given, Figure(s.LiveAfterPurge, MiB))
	}
	b.WriteString("\nRSS after purge is the last reading of the purge phase, after the server asked its allocator to give back what it can (GET /purge). Live heap is what the program itself still held then, counted by the server at every allocation: no allocator can give that back. The rest of what stayed is the program's code, stacks and the allocator's own metadata, caches and fragmentation.\n")
}

// purgeConclusion says, lane by lane, how much of the memory after the cooldown a purge
// reclaimed and how much stayed, set against the live heap.
func purgeConclusion(r *record.Record, sums []record.Summary) []string {
	var out []string
	for _, s := range sums {
		if s.Crash != "" || !s.RSSAfterPurge.Known() || !s.RSSAfterCooldown.Known() || s.RSSAfterCooldown.Median <= 0 {
			continue
		}
		before, after := s.RSSAfterCooldown.Median, s.RSSAfterPurge.Median
		given := max(before-after, 0)
		line := fmt.Sprintf("%s: of the %s it held after the cooldown, a purge gave back %s (%.0f%%), what was still reclaimable; %s stayed",
			s.Target, MiB(before), MiB(given), 100*given/before, MiB(after))
		if given < before/100 {
			line = fmt.Sprintf("%s: a purge gave back nothing more of the %s it held after the cooldown (it had given back what it could by itself)", s.Target, MiB(before))
		}
		if s.LiveAfterPurge.Known() {
			line += fmt.Sprintf(", of which %s is live heap and %s code, stacks and the allocator's own (metadata, caches, fragmentation)",
				MiB(s.LiveAfterPurge.Median), MiB(max(after-s.LiveAfterPurge.Median, 0)))
		}
		out = append(out, line+".")
	}
	return out
}

// settingsConclusion names the lanes whose settings did not take effect: their figures
// are the allocator's as shipped, not as the lane's name says.
func settingsConclusion(r *record.Record) []string {
	var out []string
	for _, t := range r.Targets {
		if len(t.SettingIssues) > 0 {
			out = append(out, fmt.Sprintf("%s: a setting did not take effect (%s), so its figures are not those of the setting its name asks for.", t.Name, strings.Join(t.SettingIssues, "; ")))
		}
	}
	return out
}
