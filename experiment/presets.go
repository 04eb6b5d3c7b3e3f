package experiment

import (
	"fmt"
	"strings"
	"time"
)

// Preset is a documented shorthand for a talk: a lane list plus the flags that make its
// point. Flags given on the command line win over the preset's.
type Preset struct {
	Name        string
	Description string
	// Allocators is the --allocators lane list.
	Allocators string
	Scenario   string
	// Path, when set, is the request path instead of the scenario's.
	Path        string
	Connections int
	Threads     int
	Purge       bool
	// Duration, Cycles and Idle, when set, are -d, --cycles and --idle.
	Duration time.Duration
	Cycles   int
	Idle     time.Duration
}

// Presets are the talks' shorthands, in the order `--preset list` shows them.
var Presets = []Preset{
	{
		Name:        "give-back",
		Description: "each allocator as shipped against its give-memory-back settings, with a purge phase after the cooldown",
		Allocators: "system,glibc-trim=system+MALLOC_TRIM_THRESHOLD_=0," +
			"jemalloc,jemalloc-decay=jemalloc+MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0," +
			"mimalloc,mimalloc-decommit=mimalloc+MIMALLOC_DECOMMIT_DELAY=0," +
			"tcmalloc,tcmalloc-release=tcmalloc+TCMALLOC_RELEASE_RATE=10+TCMALLOC_AGGRESSIVE_DECOMMIT=1",
		// fragment keeps each request's 16 KiB alive for 2 s: a heap of 100 MiB and more
		// under load, all of it free once the load stops, for the allocator to give back or keep.
		Scenario:    "fragment",
		Connections: 500,
		Purge:       true,
	},
	{
		Name:        "arenas",
		Description: "glibc as shipped against MALLOC_ARENA_MAX=1 and =2, at 16 server threads: glibc's arenas and its address space",
		Allocators:  "system,arena-max-1=system+MALLOC_ARENA_MAX=1,arena-max-2=system+MALLOC_ARENA_MAX=2",
		Scenario:    "churn",
		Connections: 500,
		Threads:     16,
	},
	{
		Name:        "arena",
		Description: "per-request heap allocations against a per-request bump arena (seed 004), under each allocator",
		Allocators:  "system,system+arena,jemalloc,jemalloc+arena,mimalloc,mimalloc+arena",
		// 2,000 objects a request: enough per-request work for where it is allocated to
		// show. At the json scenario's 100, connection buffers dominate and the modes tie.
		Scenario:    "json",
		Path:        "/json?items=2000",
		Connections: 200,
	},
	{
		Name:        "soak",
		Description: "six cycles of 20 s of load and 20 s of idle (about 4.5 min): whether each allocator gives back what a load took, cycle after cycle, or keeps it",
		Allocators:  "system,jemalloc,mimalloc",
		// fragment keeps each request's 16 KiB alive for 2 s: the heap rises by some
		// 100 MiB under load and is all free at its end. jemalloc's pages decay back within
		// its 10 s dirty_decay_ms, mimalloc purges after its delay, while glibc returns only
		// what lies at the top of its heap: the RSS after each idle should part, glibc's
		// high and level or growing, the others near where they started.
		Scenario:    "fragment",
		Connections: 200,
		Duration:    20 * time.Second,
		Cycles:      6,
		Idle:        20 * time.Second,
	},
}

// LookupPreset finds a preset by name.
func LookupPreset(name string) (Preset, error) {
	var names []string
	for _, p := range Presets {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Preset{}, fmt.Errorf("unknown preset %q: choose from %s", name, strings.Join(names, ", "))
}
