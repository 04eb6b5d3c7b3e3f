package servers

import (
	"reflect"
	"strings"
	"testing"
)

func TestProve(t *testing.T) {
	const je = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
	libc := []string{"/usr/bin/python3.11", "/usr/lib/x86_64-linux-gnu/libc.so.6"}
	withJe := append([]string{je}, libc...)
	for _, c := range []struct {
		name      string
		library   string
		settings  []string
		procs     []Observed
		issues    []string // each a substring of one issue, in order
		proof     []string
		effective map[string]string
	}{
		{name: "mapped, setting reached", library: je, settings: []string{"MALLOC_CONF=narenas:2"},
			procs: []Observed{{PID: 7, Comm: "python3", Env: map[string]string{"MALLOC_CONF": "narenas:2"}, Mapped: withJe}},
			proof: []string{"libjemalloc.so.2 is mapped in 1 process", "MALLOC_CONF in the environment of 1 process"}},
		{name: "a wrapper dropped the preload", library: je,
			procs:  []Observed{{PID: 7, Comm: "sh", Mapped: withJe}, {PID: 8, Comm: "python3", Mapped: libc}, {PID: 9, Comm: "python3", Mapped: libc}},
			issues: []string{"libjemalloc.so.2 is not mapped in python3: "}},
		{name: "a setting lost or changed", settings: []string{"MALLOC_ARENA_MAX=2", "MALLOC_TOP_PAD_=0"},
			procs:  []Observed{{PID: 7, Comm: "python3", Env: map[string]string{"MALLOC_ARENA_MAX": "4"}, Mapped: libc}},
			issues: []string{"MALLOC_ARENA_MAX=2 did not reach the process: python3 has MALLOC_ARENA_MAX=4", "MALLOC_TOP_PAD_=0 did not reach the process: python3 has none"}},
		{name: "glibc's arenas counted exactly", settings: []string{"MALLOC_ARENA_MAX=2"},
			procs:     []Observed{{PID: 7, Comm: "python3", Env: map[string]string{"MALLOC_ARENA_MAX": "2"}, Arenas: 2, ArenasExact: true}},
			proof:     []string{"MALLOC_ARENA_MAX in the environment of 1 process", "glibc runs 2 arenas (heap headers in /proc/PID/mem)"},
			effective: map[string]string{"arenas": "2"}},
		{name: "glibc's arenas bounded",
			procs: []Observed{{PID: 7, Arenas: 3}, {PID: 8, Arenas: 1, ArenasExact: true}},
			proof: []string{"glibc runs at most 3 arenas (64 MiB heaps in /proc/PID/maps)"}},
		{name: "no process seen", library: je, settings: []string{"MALLOC_CONF=x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			issues, proof, effective := Prove(c.library, c.settings, c.procs)
			if len(issues) != len(c.issues) {
				t.Fatalf("got issues %q, want %d", issues, len(c.issues))
			}
			for i := range issues {
				if !strings.Contains(issues[i], c.issues[i]) {
					t.Errorf("issue %d: got %q, want it to contain %q", i, issues[i], c.issues[i])
				}
			}
			if !reflect.DeepEqual(proof, c.proof) {
				t.Errorf("proof: got %q, want %q", proof, c.proof)
			}
			if !reflect.DeepEqual(effective, c.effective) {
				t.Errorf("effective: got %v, want %v", effective, c.effective)
			}
		})
	}
}
