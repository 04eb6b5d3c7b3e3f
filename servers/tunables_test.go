package servers

import (
	"strings"
	"testing"
)

func TestTunablesAreReadFromTheLoader(t *testing.T) {
	got := parseTunables([]byte("glibc.malloc.arena_max: 0x0 (min: 0x1, max: 0xffffffffffffffff)\nglibc.cpu.x86_ibt:\nglibc.malloc.check: 0 (min: 0, max: 3)\n"))
	if tu := got["glibc.malloc.arena_max"]; !tu.Ranged || tu.Min != 1 || tu.Max != 1<<64-1 {
		t.Errorf("arena_max: %+v", tu)
	}
	if tu, ok := got["glibc.cpu.x86_ibt"]; !ok || tu.Ranged {
		t.Errorf("a tunable with no range: %+v, %v", tu, ok)
	}
	if tu := got["glibc.malloc.check"]; tu.Max != 3 {
		t.Errorf("check: %+v", tu)
	}
	// The installed glibc's own list, as the system build sees it.
	if _, ok := GlibcTunables()["glibc.malloc.arena_max"]; !ok {
		t.Errorf("the installed glibc's tunables lack glibc.malloc.arena_max: %v", GlibcTunables())
	}
	if _, ok := GlibcTunables()["glibc.malloc.bogus"]; ok {
		t.Error("glibc.malloc.bogus is listed as a tunable")
	}
}

func TestGlibcTunablesAreCheckedNotTakenOnTrust(t *testing.T) {
	arenas := map[string]string{"arenas": "4"}
	for _, c := range []struct {
		name, tunables string
		effective      map[string]string
		issue          string // "" for none
		unchecked      string // "" for none
	}{
		{"an unknown tunable", "glibc.malloc.bogus=2", arenas, "glibc.malloc.bogus is not a tunable this glibc knows, so it changed nothing (it knows glibc.malloc.arena_max", ""},
		{"an unknown one before the run", "glibc.malloc.bogus=2", nil, "glibc.malloc.bogus is not a tunable this glibc knows", ""},
		{"not NAME=VALUE", "glibc.malloc.trim_threshold", arenas, "is not NAME=VALUE", ""},
		{"out of range", "glibc.malloc.check=9", arenas, "glibc.malloc.check=9 is not a number from 0 to 3, so glibc ignores it", ""},
		{"arena_max exceeded", "glibc.malloc.arena_max=2", arenas, "glibc.malloc.arena_max=2, but glibc runs 4 arenas", ""},
		{"arena_max kept", "glibc.malloc.arena_max=4", arenas, "", ""},
		{"known but not shown", "glibc.malloc.trim_threshold=131072", arenas, "", "GLIBC_TUNABLES glibc.malloc.trim_threshold"},
		{"one of each", "glibc.malloc.arena_max=8:glibc.malloc.tcache_count=0", arenas, "", "GLIBC_TUNABLES glibc.malloc.tcache_count"},
	} {
		settings := []string{"GLIBC_TUNABLES=" + c.tunables}
		issues := strings.Join(CheckSettings("glibc", settings, c.effective, nil), "; ")
		if (c.issue == "") != (issues == "") || !strings.Contains(issues, c.issue) {
			t.Errorf("%s: issues %q, want %q", c.name, issues, c.issue)
		}
		if got := strings.Join(Unchecked("glibc", settings, c.effective), "; "); c.issue == "" && got != c.unchecked {
			t.Errorf("%s: unchecked %q, want %q", c.name, got, c.unchecked)
		}
	}
	if got := Unchecked("glibc", []string{"MALLOC_TRIM_THRESHOLD_=1", "MALLOC_ARENA_MAX=4"}, map[string]string{"arenas": "2"}); strings.Join(got, ",") != "MALLOC_TRIM_THRESHOLD_" {
		t.Errorf("unchecked glibc settings %q: glibc shows its arenas, and nothing of its trim threshold", got)
	}
}
