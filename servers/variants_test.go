package servers

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rssBytes reads a process's resident set from /proc/PID/statm.
func rssBytes(t *testing.T, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func TestPurgeGivesBackWhatJemallocKeptAfterAHold(t *testing.T) {
	bin := build(t, "jemalloc")
	// Decay off: jemalloc purges a freed page along a curve over dirty_decay_ms (10 s),
	// so what it kept would depend on how long a busy machine took to get here.
	spec := ServerSpec("jemalloc", bin.Path, "", 2)
	spec.Env = []string{"MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1"}
	p := start(t, spec)
	idle := rssBytes(t, p.PID)
	// Blocks under jemalloc's oversize threshold (8 MiB) go to its ordinary arenas, which
	// keep freed pages until they decay; a bigger one would be unmapped at once.
	const block, blocks = 4 << 20, 12
	const held = block * blocks
	var wg sync.WaitGroup
	for range blocks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := get(t, fmt.Sprintf("http://%s/hold?bytes=%d&ms=300", p.Addr, block)); code != 200 {
				t.Errorf("/hold = %d %s", code, body)
			}
		}()
	}
	wg.Wait()
	if !waitFor(t, time.Minute, func() bool { return stats(t, p).HeldBytes == 0 }) {
		t.Fatalf("the server still holds %d bytes, long after its 300 ms holds", stats(t, p).HeldBytes)
	}
	kept := rssBytes(t, p.PID)
	if kept < idle+held/2 {
		t.Fatalf("RSS %d MiB after the holds were freed, idle %d MiB: jemalloc, its decay off, was expected to keep the freed %d MiB", kept>>20, idle>>20, held>>20)
	}
	code, body := get(t, "http://"+p.Addr+"/purge")
	if code != 200 || !strings.Contains(body, `arena.4096.purge`) {
		t.Fatalf("/purge = %d %s", code, body)
	}
	after := rssBytes(t, p.PID)
	t.Logf("RSS idle %.1f MiB, after the %d MiB of holds were freed %.1f MiB, after /purge %.1f MiB", float64(idle)/(1<<20), held>>20, float64(kept)/(1<<20), float64(after)/(1<<20))
	if after > kept-held/2 {
		t.Errorf("RSS %d MiB after the hold was freed, %d MiB after /purge: the purge gave back less than half the %d MiB hold", kept>>20, after>>20, held>>20)
	}
	if s := stats(t, p); s.Purges != 1 {
		t.Errorf("/stats counts %d purges, want 1", s.Purges)
	}
}

func TestArenaModeServesTheSameBodiesAsTheHeap(t *testing.T) {
	bin := build(t, "jemalloc")
	heap := start(t, ServerSpec("heap", bin.Path, "", 2))
	spec := ServerSpec("arena", bin.Path, "", 2)
	spec.Command = append(spec.Command, "--arena")
	arena := start(t, spec)
	if m := stats(t, arena).Mode; m != "arena" {
		t.Fatalf("/stats mode %q with --arena, want arena", m)
	}
	if m := stats(t, heap).Mode; m != "heap" {
		t.Fatalf("/stats mode %q without --arena, want heap", m)
	}
	for _, path := range []string{"/json?items=0", "/json?items=1", "/json?items=500", "/alloc?count=300&size=100&order=lifo", "/alloc?count=1&size=1MiB", "/json?items=x"} {
		hc, hb := get(t, "http://"+heap.Addr+path)
		ac, ab := get(t, "http://"+arena.Addr+path)
		if hc != ac || hb != ab {
			t.Errorf("%s: heap %d %.80q, arena %d %.80q", path, hc, hb, ac, ab)
		}
	}
}

func TestScudoServesPreloadedAndPurges(t *testing.T) {
	scudo, _ := LookupAllocator("scudo")
	lib, err := scudo.PreloadPath()
	if err != nil {
		t.Skip(err) // scripts/setup.sh installs libclang-rt-14-dev
	}
	bin := build(t, scudo.BuildName())
	spec := ServerSpec("scudo", bin.Path, "", 2)
	spec.Preload = lib
	p := start(t, spec)
	s := stats(t, p)
	if s.Allocator != "scudo" || !strings.Contains(s.MallocFrom, "scudo") {
		t.Fatalf("/stats: allocator %q, malloc from %q; want scudo", s.Allocator, s.MallocFrom)
	}
	if code, body := get(t, "http://"+p.Addr+"/purge"); code != 200 || !strings.Contains(body, "M_PURGE") {
		t.Fatalf("/purge = %d %s", code, body)
	}
}

func TestCheckSettingsNamesWhatWasIgnored(t *testing.T) {
	je := map[string]string{"background_thread": "false", "dirty_decay_ms": "10000", "narenas": "8"}
	mi := map[string]string{}
	for _, o := range mimalloc20Options {
		mi[o] = "0"
	}
	mi["decommit_delay"] = "25"
	for _, c := range []struct {
		name, family string
		settings     []string
		effective    map[string]string
		output       []string
		want         string // "" for no issue
	}{
		{"glibc within its limit", "glibc", []string{"MALLOC_ARENA_MAX=2"}, map[string]string{"arenas": "2"}, nil, ""},
		{"glibc over its limit", "glibc", []string{"MALLOC_ARENA_MAX=2"}, map[string]string{"arenas": "5"}, nil, "glibc runs 5 arenas"},
		{"glibc typo", "glibc", []string{"MALLOC_ARENA_MAXX=2"}, map[string]string{"arenas": "1"}, nil, "MALLOC_ARENA_MAXX is not a setting glibc reads"},
		{"another allocator's variable", "jemalloc", []string{"MALLOC_ARENA_MAX=1"}, je, nil, "MALLOC_ARENA_MAX is not a setting jemalloc reads, so it changed nothing (it reads MALLOC_CONF)"},
		{"jemalloc took it", "jemalloc", []string{"MALLOC_CONF=dirty_decay_ms:10000"}, je, nil, ""},
		{"jemalloc runs without it", "jemalloc", []string{"MALLOC_CONF=background_thread:true"}, je, nil, "asks for background_thread true, but jemalloc runs with false"},
		{"jemalloc complained", "jemalloc", []string{"MALLOC_CONF=bakground_thread:true"}, je, []string{"listening", "<jemalloc>: Invalid conf pair: bakground_thread:true"}, "<jemalloc>: Invalid conf pair: bakground_thread:true"},
		{"mimalloc took it", "mimalloc", []string{"MIMALLOC_DECOMMIT_DELAY=25"}, mi, nil, ""},
		{"mimalloc 2.1's name on 2.0", "mimalloc", []string{"MIMALLOC_PURGE_DELAY=0"}, mi, nil, "did you mean MIMALLOC_DECOMMIT_DELAY"},
		{"tcmalloc's rate", "tcmalloc", []string{"TCMALLOC_RELEASE_RATE=10"}, map[string]string{"release_rate": "10"}, nil, ""},
		{"scudo complained", "scudo", []string{"SCUDO_OPTIONS=bogus=1"}, nil, []string{"Scudo WARNING: found 1 unrecognized flag(s):"}, "Scudo WARNING"},
		{"a library by path is not checked", "", []string{"WHATEVER=1"}, nil, nil, ""},
	} {
		got := strings.Join(CheckSettings(c.family, c.settings, c.effective, c.output), "; ")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
