package servers

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseLanes(t *testing.T) {
	got, err := ParseLanes("system,arena2=system+MALLOC_ARENA_MAX=2,jemalloc+MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,glibc")
	if err != nil {
		t.Fatal(err)
	}
	want := []Lane{
		{Name: "system", Allocator: "system"},
		{Name: "arena2", Allocator: "system", Settings: []string{"MALLOC_ARENA_MAX=2"}, Named: true},
		{Name: "jemalloc+MALLOC_CONF=background_thread:true,dirty_decay_ms:1000", Allocator: "jemalloc", Settings: []string{"MALLOC_CONF=background_thread:true,dirty_decay_ms:1000"}},
		{Name: "glibc", Allocator: "system"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for list, wantErr := range map[string]string{
		"tcmallocc":                          "unknown allocator",
		"system+MALLOC_ARENA_MAX":            "is not VAR=VALUE",
		"=system":                            "has an empty name",
		"a=system,a=jemalloc":                "two lanes are named \"a\"",
		"system+=2":                          "is not VAR=VALUE",
		"":                                   "no allocator",
		"system,nope+MALLOC_ARENA_MAX=2":     "unknown allocator",
		"jemalloc+MALLOC_CONF=a:1,,mimalloc": "",
		"x=system+LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2": "sets LD_PRELOAD: to run a library, give it as a lane of its own",
		"scudo+LD_PRELOAD=/lib/x.so":                                     "sets LD_PRELOAD",
		"system+MALLOC_ARENA_MAX=2+MALLOC_ARENA_MAX=3":                   "sets MALLOC_ARENA_MAX twice",
		"system+MALLOC_ARENA_MAX=2+MALLOC_ARENA_TEST=3":                  "",
	} {
		_, err := ParseLanes(list)
		if wantErr == "" {
			if err != nil {
				t.Errorf("%q: %v", list, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: got %v, want %q", list, err, wantErr)
		}
	}
}

func TestLibraryLanesAreCheckedBeforeAnythingStarts(t *testing.T) {
	dir := t.TempDir()
	text := dir + "/notelf.so"
	os.WriteFile(text, []byte("not a library"), 0o644)
	for list, want := range map[string]string{
		"x=" + dir + "/missing.so": "does not exist",
		"x=" + text:                "is not an ELF shared object",
		"x=/bin/true":              "does not export both malloc and free",
	} {
		if _, err := ParseLanes(list); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", list, err, want)
		}
	}
	lib := FindLibrary("libjemalloc.so.2")
	if lib == "" {
		t.Skip("libjemalloc.so.2 is not installed (scripts/setup.sh installs it)")
	}
	lanes, err := ParseLanes("system,je=" + lib + "+MALLOC_CONF=narenas:1")
	if err != nil {
		t.Fatal(err)
	}
	if l := lanes[1]; l.Name != "je" || l.Library != lib || l.Allocator != "system" || len(l.Settings) != 1 {
		t.Errorf("library lane: %+v", l)
	}
}

func TestLaneValueListsExpandIntoOneLanePerValue(t *testing.T) {
	got, err := ParseLanes("system,jemalloc+MALLOC_CONF=background_thread:true,dirty_decay_ms:{0,1000},a=system+MALLOC_ARENA_MAX={1, 4}")
	if err != nil {
		t.Fatal(err)
	}
	want := []Lane{
		{Name: "system", Allocator: "system"},
		{Name: "jemalloc+MALLOC_CONF=background_thread:true,dirty_decay_ms:0", Allocator: "jemalloc", Settings: []string{"MALLOC_CONF=background_thread:true,dirty_decay_ms:0"}, Values: []string{"0"}},
		{Name: "jemalloc+MALLOC_CONF=background_thread:true,dirty_decay_ms:1000", Allocator: "jemalloc", Settings: []string{"MALLOC_CONF=background_thread:true,dirty_decay_ms:1000"}, Values: []string{"1000"}},
		{Name: "a-1", Allocator: "system", Settings: []string{"MALLOC_ARENA_MAX=1"}, Named: true, Values: []string{"1"}},
		{Name: "a-4", Allocator: "system", Settings: []string{"MALLOC_ARENA_MAX=4"}, Named: true, Values: []string{"4"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got, err := ParseLanes("system+MALLOC_ARENA_MAX={1,2}+MALLOC_ARENA_TEST={1,8}"); err != nil || len(got) != 4 || got[3].Name != "system+MALLOC_ARENA_MAX=2+MALLOC_ARENA_TEST=8" {
		t.Errorf("two lists: got %+v, %v; want 4 lanes, one per pair", got, err)
	}
	for list, wantErr := range map[string]string{
		"system+MALLOC_ARENA_MAX={1,1}": "lists 1 twice",
		"system+MALLOC_ARENA_MAX={1}":   "lists one value",
		"system+MALLOC_ARENA_MAX={1,}":  "empty value",
		"system+MALLOC_ARENA_MAX={1,2":  "does not close",
		"system+MALLOC_ARENA_MAX=1,2}":  "did not open",
		"system+MALLOC_ARENA_MAX={{1}}": "nests",
	} {
		if _, err := ParseLanes(list); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: got %v, want %q", list, err, wantErr)
		}
	}
}
