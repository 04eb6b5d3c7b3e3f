package main

import (
	"testing"
)

func TestAPresetSetsWhatTheCommandLineLeftUnset(t *testing.T) {
	for _, c := range []struct {
		args                         []string
		allocs, scenario, path, conn string
		threads                      string
		purge                        bool
	}{
		{[]string{"--preset", "arenas"}, "system,arena-max-1=system+MALLOC_ARENA_MAX=1,arena-max-2=system+MALLOC_ARENA_MAX=2", "churn", "", "500", "16", false},
		{[]string{"--preset", "give-back"}, "", "fragment", "", "500", "", true},
		{[]string{"--preset", "arena"}, "system,system+arena,jemalloc,jemalloc+arena,mimalloc,mimalloc+arena", "", "/json?items=2000", "200", "", false},
		// Flags given too win over the preset's.
		{[]string{"--preset", "arenas", "--allocators", "system", "--threads", "4", "-c", "50", "--scenario", "hello"}, "system", "hello", "", "50", "4", false},
		{[]string{"--preset", "arena", "--path", "/"}, "", "", "/", "200", "", false},
	} {
		fs, a := runFlags()
		if err := parseFlags(fs, c.args); err != nil {
			t.Fatal(err)
		}
		if err := a.applyPreset(fs); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if c.allocs != "" && *a.allocs != c.allocs {
			t.Errorf("%v: allocators %q, want %q", c.args, *a.allocs, c.allocs)
		}
		if got := a.scenarios.String(); got != c.scenario {
			t.Errorf("%v: scenario %q, want %q", c.args, got, c.scenario)
		}
		if a.o.Path != c.path || a.conns.String() != c.conn || a.threads.String() != c.threads || a.o.Purge != c.purge {
			t.Errorf("%v: path %q -c %q --threads %q purge %v; want %q %q %q %v", c.args, a.o.Path, a.conns.String(), a.threads.String(), a.o.Purge, c.path, c.conn, c.threads, c.purge)
		}
	}
}

func TestTheSoakPresetRunsCyclesAndFlagsWin(t *testing.T) {
	for _, c := range []struct {
		args   []string
		cycles int
		d      string
		idle   string
	}{
		{[]string{"--preset", "soak"}, 6, "20s", "20s"},
		{[]string{"--preset", "soak", "--cycles", "3", "-d", "5", "--idle", "2s"}, 3, "5s", "2s"},
	} {
		fs, a := runFlags()
		if err := parseFlags(fs, c.args); err != nil {
			t.Fatal(err)
		}
		if err := a.applyPreset(fs); err != nil {
			t.Fatal(err)
		}
		if err := a.cycles.apply(fs, &a.o); err != nil {
			t.Fatal(err)
		}
		if a.o.Cycles != c.cycles || a.o.Duration.String() != c.d || a.o.Idle.String() != c.idle || a.scenarios.String() != "fragment" {
			t.Errorf("%v: --cycles %d -d %s --idle %s scenario %s; want %d %s %s fragment", c.args, a.o.Cycles, a.o.Duration, a.o.Idle, a.scenarios.String(), c.cycles, c.d, c.idle)
		}
	}
}
