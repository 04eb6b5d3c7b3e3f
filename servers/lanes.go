package servers

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Lane is one lane of --allocators: an allocator and the settings it runs with, written
// as one word: [NAME=]ALLOCATOR[+VAR=VALUE]... (system+MALLOC_ARENA_MAX=2,
// arena2=system+MALLOC_ARENA_MAX=2, jemalloc+MALLOC_CONF=background_thread:true).
type Lane struct {
	// Name heads the lane's panel, table rows and CSV: NAME= where given, else the word.
	Name      string
	Allocator string
	// Settings are VAR=VALUE pairs added to the lane's environment.
	Settings []string
	// Named says the user chose the name (two lanes may not share one).
	Named bool
	// Library is a malloc-compatible shared library preloaded into the system build
	// (NAME=/path/to/lib.so), "" for a named allocator.
	Library string
	// Arena: the built-in server takes /alloc's and /json's per-request allocations from
	// a bump arena (+arena) instead of one heap call per object.
	Arena bool
	// Values are the values this lane took from lists in its word
	// (system+MALLOC_ARENA_MAX={1,2,4}), one per list, "" for none: the lane is one
	// point of a setting sweep.
	Values []string
	// CPUs confines the lane's server to that many CPUs (+cpus=N), 0 for the run's.
	CPUs int
}

// ParseLanes reads a comma-separated list of lanes. A comma inside a setting's value
// (MALLOC_CONF=background_thread:true,dirty_decay_ms:1000) stays in the value: a piece
// after a comma starts a new lane only when it reads as one ([NAME=]ALLOCATOR[+…]).
//
// A value written as a list in braces (system+MALLOC_ARENA_MAX={1,2,4,8},
// jemalloc+MALLOC_CONF=dirty_decay_ms:{0,1000}) makes one lane per value: a sweep of
// the setting. Two lists in one word make one lane per pair.
func ParseLanes(list string) ([]Lane, error) {
	words, err := expandLists(list)
	if err != nil {
		return nil, err
	}
	var out []Lane
	for _, w := range words {
		lanes, err := parseLaneList(w.text)
		if err != nil {
			return nil, err
		}
		for i := range lanes {
			if len(w.values) > 0 {
				lanes[i].Values = w.values
				// A named lane keeps its name, told apart by the value (arenas-2).
				if lanes[i].Named {
					lanes[i].Name += "-" + strings.Join(w.values, "-")
				}
			}
		}
		out = append(out, lanes...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no allocator in %q: choose from %s", list, strings.Join(Names(), ", "))
	}
	seen := map[string]bool{}
	for _, l := range out {
		if l.Named && seen[l.Name] {
			return nil, fmt.Errorf("two lanes are named %q: give each lane its own name", l.Name)
		}
		seen[l.Name] = true
	}
	return out, nil
}

// parseLaneList reads a comma-separated list of lanes without value lists.
func parseLaneList(list string) ([]Lane, error) {
	var out []Lane
	for _, piece := range strings.Split(list, ",") {
		word := strings.TrimSpace(piece)
		lane, isLane, err := parseLane(word)
		switch {
		case isLane && err != nil:
			return nil, err
		case isLane:
			out = append(out, lane)
		case word == "":
			continue
		case len(out) > 0 && len(out[len(out)-1].Settings) > 0:
			last := &out[len(out)-1]
			last.Settings[len(last.Settings)-1] += "," + piece
			if !last.Named {
				last.Name += "," + piece
			}
		default:
			_, err := LookupAllocator(alias(allocatorPart(word)))
			return nil, err
		}
	}
	return out, nil
}

// parseLane reads one word; isLane is false when it does not start a lane (a piece of
// the previous setting's value).
func parseLane(word string) (l Lane, isLane bool, err error) {
	name, rest := "", word
	if i := strings.IndexAny(word, "=+"); i >= 0 && word[i] == '=' {
		if _, err := LookupAllocator(alias(allocatorPart(word[i+1:]))); err == nil || isLibraryPath(allocatorPart(word[i+1:])) {
			name, rest = word[:i], word[i+1:]
			if strings.TrimSpace(name) == "" {
				return l, true, fmt.Errorf("lane %q has an empty name: write NAME=ALLOCATOR, or leave out the =", word)
			}
		}
	}
	var a Allocator
	lib := ""
	if part := allocatorPart(rest); isLibraryPath(part) {
		if err := CheckLibrary(part); err != nil {
			return l, true, err
		}
		a, lib = Allocator{Name: "system"}, part
	} else if a, err = LookupAllocator(alias(part)); err != nil {
		return l, false, nil
	}
	l = Lane{Name: word, Allocator: a.Name, Named: name != "", Library: lib}
	if l.Named {
		l.Name = strings.TrimSpace(name)
	}
	parts := strings.Split(rest, "+")
	for _, s := range parts[1:] {
		if strings.TrimSpace(s) == ArenaModifier {
			l.Arena = true
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if strings.TrimSpace(k) == CPUModifier {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				return l, true, fmt.Errorf("lane %q: +cpus=%s is not a CPU count: write +cpus=2", word, v)
			}
			l.CPUs = n
			continue
		}
		if !ok || strings.TrimSpace(k) == "" {
			return l, true, fmt.Errorf("setting %q of lane %q is not VAR=VALUE (or arena): write it like %s+MALLOC_ARENA_MAX=2", s, word, a.Name)
		}
		// The lane's own LD_PRELOAD (a preloaded allocator) is set after its settings, so
		// a setting would either run another allocator under this lane's name or be replaced.
		if strings.TrimSpace(k) == "LD_PRELOAD" {
			return l, true, fmt.Errorf("lane %q sets LD_PRELOAD: to run a library, give it as a lane of its own, NAME=/path/to/lib.so (e.g. je=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2)", word)
		}
		for _, prev := range l.Settings {
			if pk, _, _ := strings.Cut(prev, "="); pk == k {
				return l, true, fmt.Errorf("lane %q sets %s twice: give each variable once", word, k)
			}
		}
		l.Settings = append(l.Settings, s)
	}
	return l, true, nil
}

// ArenaModifier, written as a lane's setting (jemalloc+arena), runs the built-in
// server in its per-request bump arena mode.
const ArenaModifier = "arena"

// isLibraryPath says whether a lane's allocator is a path to a shared library.
func isLibraryPath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		strings.HasSuffix(s, ".so") || strings.Contains(s, ".so.")
}

// CheckLibrary refuses, before anything starts, a library that cannot replace malloc:
// missing, not an ELF shared object, or not exporting both malloc and free.
func CheckLibrary(path string) error {
	f, err := elf.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("allocator library %s does not exist: give the path of a malloc replacement (.so)", path)
	case err != nil:
		return fmt.Errorf("allocator library %s is not an ELF shared object (%v): give a malloc replacement built as a .so", path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_DYN {
		return fmt.Errorf("allocator library %s is an ELF %s, not a shared object: give a malloc replacement built as a .so", path, f.Type)
	}
	syms, _ := f.DynamicSymbols()
	exported := map[string]bool{}
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			exported[s.Name] = true
		}
	}
	if !exported["malloc"] || !exported["free"] {
		return fmt.Errorf("allocator library %s does not export both malloc and free: it cannot replace the allocator", path)
	}
	return nil
}

func allocatorPart(s string) string {
	a, _, _ := strings.Cut(s, "+")
	return strings.TrimSpace(a)
}

func alias(name string) string {
	if name == "glibc" {
		return "system"
	}
	return name
}
