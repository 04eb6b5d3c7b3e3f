package servers

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The variables each allocator reads at start. A setting outside its allocator's list
// changes nothing: a typo, or a variable meant for another allocator.
var allocatorVariables = map[string][]string{
	"glibc": {"MALLOC_ARENA_MAX", "MALLOC_ARENA_TEST", "MALLOC_TOP_PAD_", "MALLOC_TRIM_THRESHOLD_",
		"MALLOC_MMAP_THRESHOLD_", "MALLOC_MMAP_MAX_", "MALLOC_PERTURB_", "MALLOC_CHECK_", "GLIBC_TUNABLES"},
	// Debian builds jemalloc without a symbol prefix: it reads MALLOC_CONF.
	"jemalloc": {"MALLOC_CONF"},
	"tcmalloc": {"TCMALLOC_RELEASE_RATE", "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES", "TCMALLOC_AGGRESSIVE_DECOMMIT",
		"TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD", "TCMALLOC_TRANSFER_NUM_OBJ", "TCMALLOC_HEAP_LIMIT_MB",
		"TCMALLOC_SKIP_SBRK", "TCMALLOC_SKIP_MMAP", "TCMALLOC_DISABLE_MEMORY_RELEASE", "TCMALLOC_OVERRIDE_PAGESIZE"},
	"scudo": {"SCUDO_OPTIONS"},
}

// mimalloc20Options are mimalloc 2.0's options (Debian 12 ships 2.0.9), each read from
// MIMALLOC_<NAME>; the server reports their values, and this list stands in when it cannot.
var mimalloc20Options = []string{"show_errors", "show_stats", "verbose", "eager_commit", "large_os_pages",
	"reserve_huge_os_pages", "reserve_huge_os_pages_at", "reserve_os_memory", "page_reset", "abandoned_page_decommit",
	"eager_commit_delay", "decommit_delay", "use_numa_nodes", "limit_os_alloc", "os_tag", "max_errors",
	"max_warnings", "max_segment_reclaim", "allow_decommit", "segment_decommit_delay", "decommit_extend_delay",
	"destroy_on_exit"}

// Family is the allocator family of a lane's allocator name as /stats names it
// ("system" is glibc's); "" for a library given by path, whose settings cannot be checked.
func Family(allocator string) string {
	switch allocator {
	case "system", "glibc":
		return "glibc"
	case "jemalloc", "mimalloc", "tcmalloc", "scudo":
		return allocator
	}
	return ""
}

// CheckSettings says which of a lane's settings (VAR=VALUE) the allocator ignored or
// rejected: a variable it does not read, a value it runs without (effective is what the
// server read back from the allocator, nil when it could not), or a complaint the
// allocator printed at start (output). It returns one line per problem, none when every
// setting took effect as far as can be told.
func CheckSettings(family string, settings []string, effective map[string]string, output []string) []string {
	issues, _ := checkSettings(family, settings, effective, output)
	return issues
}

// Unchecked names the settings of a lane that no problem was found with but whose effect
// the allocator cannot show (glibc has no getter for most of its settings, and /stats
// reads back only some of the others): they are "not checked", not "took effect".
func Unchecked(family string, settings []string, effective map[string]string) []string {
	_, unchecked := checkSettings(family, settings, effective, nil)
	return unchecked
}

func checkSettings(family string, settings []string, effective map[string]string, output []string) (issues, unchecked []string) {
	for _, line := range output {
		if complaint(line) {
			issues = append(issues, strings.TrimSpace(line))
		}
	}
	if family == "" {
		return dedupe(issues), nil
	}
	for _, s := range settings {
		name, value, _ := strings.Cut(s, "=")
		if !readBy(family, name, effective) {
			issues = append(issues, fmt.Sprintf("%s is not a setting %s reads, so it changed nothing%s", name, family, suggest(name, variablesOf(family, effective))))
			continue
		}
		if family == "glibc" && name == "GLIBC_TUNABLES" {
			is, un := tunableIssues(value, GlibcTunables(), effective)
			issues, unchecked = append(issues, is...), append(unchecked, un...)
			continue
		}
		if effective == nil {
			unchecked = append(unchecked, name)
			continue
		}
		is, shown := valueIssues(family, name, value, effective)
		issues = append(issues, is...)
		if len(is) == 0 && !shown {
			unchecked = append(unchecked, name)
		}
	}
	return dedupe(issues), dedupe(unchecked)
}

// complaint says whether a line of the server's output is an allocator rejecting a setting.
func complaint(line string) bool {
	return strings.HasPrefix(line, "<jemalloc>:") || strings.HasPrefix(line, "Scudo WARNING") ||
		strings.HasPrefix(line, "Scudo ERROR") || strings.HasPrefix(line, "mimalloc: warning") ||
		strings.HasPrefix(line, "mimalloc: error")
}

func variablesOf(family string, effective map[string]string) []string {
	if family != "mimalloc" {
		return allocatorVariables[family]
	}
	names := mimalloc20Options
	if len(effective) > 0 {
		names = names[:0:0]
		for k := range effective {
			names = append(names, k)
		}
		sort.Strings(names)
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "MIMALLOC_" + strings.ToUpper(n)
	}
	return out
}

// suggest names the variables that share a word with an unknown one (MIMALLOC_PURGE_DELAY:
// mimalloc 2.0's MIMALLOC_DECOMMIT_DELAY), or all of them when they are few.
func suggest(name string, known []string) string {
	if len(known) <= 4 {
		return " (it reads " + strings.Join(known, ", ") + ")"
	}
	words := strings.Split(name, "_")
	var similar []string
	for _, k := range known {
		for _, w := range words[1:] {
			if len(w) > 2 && slices.Contains(strings.Split(k, "_")[1:], w) {
				similar = append(similar, k)
				break
			}
		}
	}
	if len(similar) == 0 {
		return fmt.Sprintf(" (it reads %d variables, e.g. %s)", len(known), strings.Join(known[:3], ", "))
	}
	return " (did you mean " + strings.Join(similar, " or ") + "?)"
}

func readBy(family, name string, effective map[string]string) bool {
	for _, v := range variablesOf(family, effective) {
		if v == name {
			return true
		}
	}
	return false
}

// valueIssues compares a setting with the value the allocator reports running with;
// shown says the allocator's settings showed every value the setting asks for.
func valueIssues(family, name, value string, effective map[string]string) (out []string, shown bool) {
	shown = true
	mismatch := func(key, want string) {
		got, ok := effective[key]
		shown = shown && ok
		if ok && !sameValue(want, got) {
			out = append(out, fmt.Sprintf("%s=%s asks for %s %s, but %s runs with %s", name, value, key, want, family, got))
		}
	}
	switch family {
	case "glibc":
		if name != "MALLOC_ARENA_MAX" {
			return nil, false
		}
		limit, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || limit < 0 {
			return []string{fmt.Sprintf("MALLOC_ARENA_MAX=%s is not a whole number: glibc ignores it", value)}, false
		}
		got, err := strconv.Atoi(effective["arenas"])
		if err == nil && limit > 0 && got > limit {
			out = append(out, fmt.Sprintf("MALLOC_ARENA_MAX=%d, but glibc runs %d arenas", limit, got))
		}
		return out, err == nil
	case "jemalloc":
		for _, pair := range strings.Split(value, ",") {
			k, v, ok := strings.Cut(pair, ":")
			if ok {
				mismatch(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
	case "mimalloc":
		mismatch(strings.ToLower(strings.TrimPrefix(name, "MIMALLOC_")), value)
	case "tcmalloc":
		key := map[string]string{"TCMALLOC_RELEASE_RATE": "release_rate", "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES": "max_total_thread_cache_bytes",
			"TCMALLOC_AGGRESSIVE_DECOMMIT": "aggressive_memory_decommit"}[name]
		if key == "" {
			return nil, false
		}
		mismatch(key, value)
	default:
		return nil, false
	}
	return out, shown
}

// sameValue compares a setting as written with the value read back: numbers as
// numbers, and the words allocators take for on and off as 1 and 0.
func sameValue(want, got string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		switch s {
		case "true", "on", "yes", "t":
			return "1"
		case "false", "off", "no", "f":
			return "0"
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return s
	}
	return norm(want) == norm(got)
}

func dedupe(lines []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lines {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}
