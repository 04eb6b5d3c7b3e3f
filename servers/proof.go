package servers

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Observed is what /proc showed of one process of a lane: the environment it was exec'd
// with (/proc/PID/environ), the files it maps (/proc/PID/maps), and glibc's arenas in it.
type Observed struct {
	PID  int
	Comm string
	Env  map[string]string
	// Mapped are the paths of the files mapped in.
	Mapped []string
	// Arenas is glibc's arena count, 0 when not counted; ArenasExact says each heap's
	// header was read, otherwise Arenas is an upper bound.
	Arenas      int
	ArenasExact bool
}

// who names the process by its command name: a PID would differ run by run, and the
// same problem would be told once a run.
func (o Observed) who() string {
	if o.Comm == "" {
		return fmt.Sprintf("pid %d", o.PID)
	}
	return o.Comm
}

// Prove checks from /proc that a lane's allocator and settings reached the processes
// that ran it, whatever the program: the preloaded library (a path, "" for none) is
// mapped in each, and each setting (VAR=VALUE) is in each one's environment. A process
// that a wrapper started without them, or whose loader refused the library, fails.
// issues has one line per problem, proof one line per fact shown; effective holds
// "arenas", the most arenas glibc runs in any process, when they were counted exactly.
func Prove(library string, settings []string, procs []Observed) (issues, proof []string, effective map[string]string) {
	if len(procs) == 0 {
		return nil, nil, nil
	}
	if library != "" {
		names := []string{library}
		if real, err := filepath.EvalSymlinks(library); err == nil && real != library {
			names = append(names, real)
		}
		var missing []string
		for _, o := range procs {
			if !slices.ContainsFunc(o.Mapped, func(m string) bool { return slices.Contains(names, m) }) {
				missing = append(missing, o.who())
			}
		}
		if len(missing) > 0 {
			issues = append(issues, fmt.Sprintf("%s is not mapped in %s: the allocator preloaded is not the one that ran (a wrapper dropped LD_PRELOAD, or the loader refused the library)",
				filepath.Base(library), strings.Join(dedupe(missing), ", ")))
		} else {
			proof = append(proof, fmt.Sprintf("%s is mapped in %s", filepath.Base(library), count(len(procs), "process", "processes")))
		}
	}
	var reached []string
	for _, s := range settings {
		name, value, _ := strings.Cut(s, "=")
		var missing []string
		for _, o := range procs {
			if got, ok := o.Env[name]; !ok {
				missing = append(missing, o.who()+" has none")
			} else if got != value {
				missing = append(missing, fmt.Sprintf("%s has %s=%s", o.who(), name, got))
			}
		}
		if len(missing) > 0 {
			issues = append(issues, fmt.Sprintf("%s did not reach the process: %s", s, strings.Join(dedupe(missing), ", ")))
		} else {
			reached = append(reached, name)
		}
	}
	if len(reached) > 0 {
		proof = append(proof, strings.Join(reached, ", ")+" in the environment of "+count(len(procs), "process", "processes"))
	}
	most, exact := 0, true
	for _, o := range procs {
		if o.Arenas > 0 {
			most, exact = max(most, o.Arenas), exact && o.ArenasExact
		}
	}
	if most > 0 {
		if exact {
			effective = map[string]string{"arenas": strconv.Itoa(most)}
			proof = append(proof, fmt.Sprintf("glibc runs %s (heap headers in /proc/PID/mem)", count(most, "arena", "arenas")))
		} else {
			proof = append(proof, fmt.Sprintf("glibc runs at most %s (64 MiB heaps in /proc/PID/maps)", count(most, "arena", "arenas")))
		}
	}
	return issues, proof, effective
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
