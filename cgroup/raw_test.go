package cgroup

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The stats' raw reads give what os.ReadFile gives, on the fixtures and on this
// machine's own memory cgroup where it has one.
func TestStatsReadsAgreeWithReadFile(t *testing.T) {
	dirs := []string{"testdata/v1/sys/fs/cgroup/memory/user/lane", "testdata/v2/sys/fs/cgroup/user.slice/lane"}
	// Files a live cgroup does not change by itself between two reads.
	static := map[string]bool{"memory.limit_in_bytes": true, "memory.max": true, "memory.swappiness": true, "memory.use_hierarchy": true}
	for _, d := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(d, "memory.stat")); err == nil {
			dirs = append(dirs, d)
		}
	}
	for _, dir := range dirs {
		live := !strings.HasPrefix(dir, "testdata")
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		compared := 0
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "memory.") || (live && !static[e.Name()]) {
				continue
			}
			path := filepath.Join(dir, e.Name())
			want, err := os.ReadFile(path)
			if err != nil {
				continue // write-only (memory.force_empty) or refused
			}
			if got := readString(path); got != string(want) {
				t.Errorf("%s: read %q, os.ReadFile %q", path, got, want)
			}
			compared++
		}
		if compared == 0 {
			t.Errorf("%s: no file compared", dir)
		}
		if live {
			if len(readKeyed(filepath.Join(dir, "memory.stat"))) == 0 {
				t.Errorf("%s: memory.stat read as empty", dir)
			}
		}
	}
	if _, err := readUint("testdata/v2/sys/fs/cgroup/user.slice/lane/memory.none"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want not-exist", err)
	}
}
