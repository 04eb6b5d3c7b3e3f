package servers

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Tunable is one glibc tunable as the installed dynamic loader lists it
// (ld.so --list-tunables): its name and the range it accepts, when it has one.
type Tunable struct {
	Name     string
	Min, Max uint64
	Ranged   bool
}

// manualMallocTunables are the glibc.malloc.* tunables of glibc's manual (2.26–2.39),
// the stand-in where the loader cannot list its own (before glibc 2.33).
var manualMallocTunables = []string{"glibc.malloc.arena_max", "glibc.malloc.arena_test", "glibc.malloc.check",
	"glibc.malloc.hugetlb", "glibc.malloc.mmap_max", "glibc.malloc.mmap_threshold", "glibc.malloc.mxfast",
	"glibc.malloc.perturb", "glibc.malloc.tcache_count", "glibc.malloc.tcache_max",
	"glibc.malloc.tcache_unsorted_limit", "glibc.malloc.top_pad", "glibc.malloc.trim_threshold"}

var (
	tunablesOnce sync.Once
	tunables     map[string]Tunable
)

// GlibcTunables are the tunables of the installed glibc, the one the system build runs
// with, read once from its dynamic loader; glibc's manual's malloc tunables when the
// loader cannot list them.
func GlibcTunables() map[string]Tunable {
	tunablesOnce.Do(func() {
		for _, pattern := range []string{"/lib64/ld-linux*.so.*", "/lib/ld-linux*.so.*", "/lib/*-linux-gnu/ld-linux*.so.*"} {
			loaders, _ := filepath.Glob(pattern)
			for _, ld := range loaders {
				out, err := exec.Command(ld, "--list-tunables").Output()
				if t := parseTunables(out); err == nil && len(t) > 0 {
					tunables = t
					return
				}
			}
		}
		tunables = map[string]Tunable{}
		for _, n := range manualMallocTunables {
			tunables[n] = Tunable{Name: n}
		}
	})
	return tunables
}

// parseTunables reads ld.so --list-tunables: "glibc.malloc.arena_max: 0x0 (min: 0x1, max: 0xffffffffffffffff)".
func parseTunables(out []byte) map[string]Tunable {
	t := map[string]Tunable{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasPrefix(name, "glibc.") {
			continue
		}
		tu := Tunable{Name: name}
		if _, r, ok := strings.Cut(rest, "(min: "); ok {
			lo, hi, _ := strings.Cut(strings.TrimSuffix(strings.TrimSpace(r), ")"), ", max: ")
			min, err1 := strconv.ParseUint(lo, 0, 64)
			max, err2 := strconv.ParseUint(hi, 0, 64)
			tu.Min, tu.Max, tu.Ranged = min, max, err1 == nil && err2 == nil
		}
		t[name] = tu
	}
	return t
}

// tunableIssues checks GLIBC_TUNABLES=NAME=VALUE:NAME=VALUE… against the installed
// glibc, which ignores without a word a tunable it does not know and a value out of its
// range. A tunable it reads is checked against what the allocator runs with where
// /stats shows it (arena_max bounds the arenas), else named in unchecked.
func tunableIssues(value string, known map[string]Tunable, effective map[string]string) (issues, unchecked []string) {
	for _, pair := range strings.Split(value, ":") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, v, ok := strings.Cut(pair, "=")
		if !ok {
			issues = append(issues, fmt.Sprintf("GLIBC_TUNABLES: %q is not NAME=VALUE, so glibc ignores it", pair))
			continue
		}
		tu, ok := known[name]
		if !ok {
			issues = append(issues, fmt.Sprintf("GLIBC_TUNABLES: %s is not a tunable this glibc knows, so it changed nothing%s", name, similarTunables(name, known)))
			continue
		}
		n, err := strconv.ParseUint(v, 0, 64)
		if tu.Ranged && (err != nil || n < tu.Min || n > tu.Max) {
			issues = append(issues, fmt.Sprintf("GLIBC_TUNABLES: %s=%s is not a number from %d to %d, so glibc ignores it", name, v, tu.Min, tu.Max))
			continue
		}
		if got, err2 := strconv.ParseUint(effective["arenas"], 10, 64); name == "glibc.malloc.arena_max" && err == nil && err2 == nil {
			if got > n {
				issues = append(issues, fmt.Sprintf("GLIBC_TUNABLES: %s=%d, but glibc runs %d arenas", name, n, got))
			}
			continue
		}
		unchecked = append(unchecked, "GLIBC_TUNABLES "+name)
	}
	return issues, unchecked
}

// similarTunables names the tunables of the same namespace (glibc.malloc.*) as an
// unknown one.
func similarTunables(name string, known map[string]Tunable) string {
	ns := name[:strings.LastIndexByte(name, '.')+1]
	var same []string
	for k := range known {
		if ns != "" && strings.HasPrefix(k, ns) {
			same = append(same, k)
		}
	}
	if len(same) == 0 {
		return ""
	}
	slices.Sort(same)
	return " (it knows " + strings.Join(same, ", ") + ")"
}
