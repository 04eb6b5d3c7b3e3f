// Package tune searches an allocator's settings for the one that best meets an objective
// (least peak RSS, say) while keeping throughput and latency within bounds, against the
// allocator's defaults: screen each knob alone, combine the ones that helped, confirm the
// winner with repeated runs, and recommend it only where the paired test backs it.
package tune

import (
	"sort"
	"strings"
)

// Knob is one setting an allocator reads at start, with a few values worth trying.
type Knob struct {
	// Name is the knob as the allocator's documentation names it (dirty_decay_ms).
	Name string
	// Var is the environment variable that carries it; a knob of MALLOC_CONF is written
	// NAME:VALUE inside it, others VAR=VALUE.
	Var string
	// Values are tried one at a time; none is the default.
	Values []string
	// Does says what it changes, for the report.
	Does string
}

// Knobs are the allocators' knobs that matter for memory, a few each, from the
// allocators' own documentation for the versions Debian 12 installs.
var Knobs = map[string][]Knob{
	// glibc 2.36 manual, "Memory Allocation Tunables" and mallopt(3): the MALLOC_*_ variables
	// are the environment forms of M_ARENA_MAX, M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_TOP_PAD.
	"glibc": {
		{Name: "arena_max", Var: "MALLOC_ARENA_MAX", Values: []string{"1", "2", "4"},
			Does: "caps the arenas (default 8 per online CPU on 64-bit): fewer arenas, less memory held per thread, more lock contention"},
		{Name: "trim_threshold", Var: "MALLOC_TRIM_THRESHOLD_", Values: []string{"16384", "65536"},
			Does: "free memory at the top of the heap above this is returned to the OS (default 128 KiB, raised dynamically); setting it turns the dynamic adjustment off"},
		{Name: "mmap_threshold", Var: "MALLOC_MMAP_THRESHOLD_", Values: []string{"32768", "65536"},
			Does: "allocations above this are served by mmap and unmapped on free (default 128 KiB, raised dynamically up to 32 MiB); pinning it interacts with arena_max"},
		{Name: "top_pad", Var: "MALLOC_TOP_PAD_", Values: []string{"0"},
			Does: "extra memory requested from the OS on each heap growth (default 128 KiB)"},
	},
	// jemalloc 5.3 man page (man 3 jemalloc), "MALLOC_CONF" / opt.* keys.
	"jemalloc": {
		{Name: "dirty_decay_ms", Var: "MALLOC_CONF", Values: []string{"0", "1000", "5000"},
			Does: "time from unused dirty pages to their purge (default 10000 ms); 0 purges at once, at the cost of madvise calls"},
		{Name: "muzzy_decay_ms", Var: "MALLOC_CONF", Values: []string{"0", "1000"},
			Does: "time from muzzy (lazily purged) pages to their release (default 0 on Linux builds with MADV_FREE, else 10000 ms)"},
		{Name: "narenas", Var: "MALLOC_CONF", Values: []string{"1", "2", "4"},
			Does: "arenas for automatic multiplexing of threads (default 4 per CPU of the affinity mask)"},
		{Name: "background_thread", Var: "MALLOC_CONF", Values: []string{"true"},
			Does: "purges on a background thread, on time, instead of on allocation calls (default false)"},
	},
	// mimalloc 2.0.9, include/mimalloc.h mi_option_e and docs "Environment Options": each
	// option is read from MIMALLOC_<NAME>. 2.1 renamed decommit_delay to purge_delay.
	"mimalloc": {
		{Name: "decommit_delay", Var: "MIMALLOC_DECOMMIT_DELAY", Values: []string{"0", "10"},
			Does: "milliseconds before freed pages are decommitted (default 25)"},
		{Name: "segment_decommit_delay", Var: "MIMALLOC_SEGMENT_DECOMMIT_DELAY", Values: []string{"0", "100"},
			Does: "milliseconds before freed segment memory is decommitted (default 500)"},
		{Name: "page_reset", Var: "MIMALLOC_PAGE_RESET", Values: []string{"1"},
			Does: "resets (madvise) pages that become free instead of keeping them (default 0)"},
		{Name: "eager_commit", Var: "MIMALLOC_EAGER_COMMIT", Values: []string{"0"},
			Does: "commits whole segments up front (default 1)"},
	},
	// gperftools 2.10, docs/tcmalloc.html "Runtime Tweaks" (TCMALLOC_* environment).
	"tcmalloc": {
		{Name: "release_rate", Var: "TCMALLOC_RELEASE_RATE", Values: []string{"5", "10"},
			Does: "how fast unused memory is returned to the OS (default 1.0; 0 never)"},
		{Name: "aggressive_decommit", Var: "TCMALLOC_AGGRESSIVE_DECOMMIT", Values: []string{"true"},
			Does: "returns every free span to the OS at once (default false)"},
		{Name: "max_total_thread_cache_bytes", Var: "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES", Values: []string{"4194304", "8388608"},
			Does: "bounds the memory of all thread caches together (default 32 MiB)"},
	},
}

// Setting is one knob at one value.
type Setting struct {
	Knob  Knob
	Value string
}

// Candidate is a set of settings tried together; none is the allocator's defaults.
type Candidate []Setting

// Env is the candidate as a lane's environment: VAR=VALUE, the knobs of MALLOC_CONF in
// one variable, NAME:VALUE pairs joined by commas.
func (c Candidate) Env() []string {
	var out []string
	conf := map[string][]string{}
	var order []string
	for _, s := range c {
		if s.Knob.Var == "MALLOC_CONF" {
			if len(conf[s.Knob.Var]) == 0 {
				order = append(order, s.Knob.Var)
			}
			conf[s.Knob.Var] = append(conf[s.Knob.Var], s.Knob.Name+":"+s.Value)
			continue
		}
		out = append(out, s.Knob.Var+"="+s.Value)
	}
	for _, v := range order {
		out = append(out, v+"="+strings.Join(conf[v], ","))
	}
	sort.Strings(out)
	return out
}

// String is the candidate as one line to paste into an environment ("" for the defaults).
func (c Candidate) String() string { return strings.Join(c.Env(), " ") }
