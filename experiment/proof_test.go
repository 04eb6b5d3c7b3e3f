package experiment

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/allocscope/allocscope/servers"
)

// pythonTargetPlan runs python3's http.server, a server allocscope knows nothing of,
// under the given --target-allocators lanes.
func pythonTargetPlan(t *testing.T, command, lanes string) Options {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	ls, err := servers.ParseLanes(lanes)
	if err != nil {
		t.Fatal(err)
	}
	o := shortPlan(t)
	o.Allocators = nil
	o.Duration, o.Connections = time.Second, 4
	o.Targets = []CustomTarget{{Name: "py", Command: command}}
	for _, l := range ls {
		o.TargetAllocators = append(o.TargetAllocators, l.Allocator)
	}
	o.TargetLanes = ls
	return o
}

func TestATargetsPreloadedAllocatorIsProvenMappedAndItsSettingsReachedIt(t *testing.T) {
	o := pythonTargetPlan(t, "python3 -m http.server {port} --bind 127.0.0.1", "system+MALLOC_ARENA_MAX=2,jemalloc")
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	sys, je := rec.Targets[0], rec.Targets[1]
	for _, tg := range rec.Targets {
		if len(tg.SettingIssues) > 0 {
			t.Errorf("%s: setting issues %q, want none", tg.Name, tg.SettingIssues)
		}
		// No shell in the tree: the server is the measured process, and its peak exact.
		if got, want := tg.Command[0], "python3"; got != want {
			t.Errorf("%s runs %q, want %s exec'd directly", tg.Name, tg.Command, want)
		}
		peaks := tg.Runs[0].Peaks
		if len(peaks) == 0 {
			t.Errorf("%s: no peaks", tg.Name)
		}
		for phase, p := range peaks {
			if p.UpperBound {
				t.Errorf("%s: the %s peak is a tree's sum, want one process's", tg.Name, phase)
			}
		}
	}
	if !slices.Contains(je.Proof, "libjemalloc.so.2 is mapped in 1 process") {
		t.Errorf("jemalloc lane's proof %q, want libjemalloc.so.2 mapped", je.Proof)
	}
	if !slices.Contains(sys.Proof, "MALLOC_ARENA_MAX in the environment of 1 process") {
		t.Errorf("system lane's proof %q, want MALLOC_ARENA_MAX in its environment", sys.Proof)
	}
	if a := sys.Settings["arenas"]; a != "1" && a != "2" {
		t.Errorf("system lane runs %q arenas under MALLOC_ARENA_MAX=2 (settings %v)", a, sys.Settings)
	}
	if md := markdown(t, rec); strings.Contains(md, "not checked (the allocator reports no settings)") || !strings.Contains(md, "libjemalloc.so.2 is mapped") {
		t.Errorf("the Markdown's settings table does not show the proof:\n%s", md)
	}
}

// A wrapper that drops LD_PRELOAD before exec'ing the server runs glibc's malloc under the
// jemalloc lane's name: the proof must say so, and --strict refuse it.
func TestAPreloadThatNeverReachedTheServerIsFlaggedAndStrictRefusesIt(t *testing.T) {
	o := pythonTargetPlan(t, "unset LD_PRELOAD; exec python3 -m http.server {port} --bind 127.0.0.1", "jemalloc")
	rec, err := runPlan(t, context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	issues := rec.Targets[0].SettingIssues
	if len(issues) == 0 || !strings.Contains(issues[0], "libjemalloc.so.2 is not mapped in python3") {
		t.Errorf("setting issues %q, want libjemalloc.so.2 not mapped in python3", issues)
	}
	o.Strict = true
	o.SavePath = filepath.Join(t.TempDir(), "strict.json")
	rec, err = runPlan(t, context.Background(), o, nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "not mapped") {
		t.Fatalf("--strict ran a lane whose library was not mapped: err %v", err)
	}
	if runs := rec.Targets[0].Runs; len(runs) > 0 && runs[0].Result != nil {
		t.Errorf("--strict refused the plan only after loading it: %+v", runs[0].Result)
	}
}
