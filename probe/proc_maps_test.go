package probe

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readMapsFixture(t *testing.T, name string) []Mapping {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "maps", name))
	if err != nil {
		t.Fatal(err)
	}
	maps, err := parseMaps(b)
	if err != nil {
		t.Fatal(err)
	}
	return maps
}

func TestParseMapsLine(t *testing.T) {
	maps := readMapsFixture(t, "synthetic")
	if got, want := len(maps), 12; got != want {
		t.Fatalf("got %d mappings, want %d", got, want)
	}
	if got, want := maps[0], (Mapping{StartAddr: 0x55663c7b0000, EndAddr: 0x55663c93f000, Perms: "rw-p", Path: "[heap]"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got, want := maps[8].Path, "/tmp/data file (deleted)"; got != want {
		t.Errorf("a path with spaces: got %q, want %q", got, want)
	}
	if got, want := maps[8].Inode, uint64(1234); got != want {
		t.Errorf("inode: got %d, want %d", got, want)
	}
	for _, bad := range []string{"7fe0-7fd0 rw-p 0 00:00 0", "zz-7fd0 rw-p 0 00:00 0", "7fe0-7fe1 rw 0 00:00 0", "7fe0-7fe1 rw-p 0 00:00"} {
		if _, err := parseMaps([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestLibrariesAreMappedFiles(t *testing.T) {
	libs := Libraries(readMapsFixture(t, "python-8-threads-jemalloc"))
	if !slices.Contains(libs, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2") {
		t.Errorf("libjemalloc.so.2 not among %v", libs)
	}
	if slices.Contains(Libraries(readMapsFixture(t, "python-8-threads")), "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2") {
		t.Error("libjemalloc.so.2 found in a process that did not load it")
	}
	for _, l := range libs {
		if strings.HasPrefix(l, "[") {
			t.Errorf("%s is a kernel region, not a file", l)
		}
	}
}

// The fixtures are /proc/PID/maps of python3 (Debian 12, glibc 2.36) with 8 threads that
// each allocated 20 MB in 1,000-byte pieces: glibc gave each thread an arena of its own,
// or two in all under MALLOC_ARENA_MAX=2, where the one non-main arena outgrew its first
// 64 MiB heap and went on in a second.
func TestGlibcHeaps(t *testing.T) {
	for _, c := range []struct {
		fixture string
		want    int
	}{
		{"python-8-threads", 8},
		{"python-8-threads-arena-max-2", 2},
		// Two heaps that filled, merged into one region (2); a reservation that runs into
		// its neighbour's guard page (1); a full heap (1); a tail too short to reach the
		// next boundary (0); a file mapping on a boundary (0); a heap in use (1).
		{"synthetic", 5},
	} {
		if got := GlibcHeaps(readMapsFixture(t, c.fixture)); got != c.want {
			t.Errorf("%s: got %d heaps, want %d", c.fixture, got, c.want)
		}
	}
}

// fakeMem answers 8-byte reads at the addresses it holds, as /proc/PID/mem would.
type fakeMem map[int64]uint64

func (m fakeMem) ReadAt(b []byte, off int64) (int, error) {
	v, ok := m[off]
	if !ok {
		return 0, io.EOF
	}
	binary.NativeEndian.PutUint64(b, v)
	return 8, nil
}

func TestGlibcArenasCountsHeapsOfOneArenaOnce(t *testing.T) {
	maps := readMapsFixture(t, "python-8-threads-arena-max-2")
	// The arena filled its first heap (at 0x7f8f00000000, which holds its state) and
	// went on in a second: both headers name the first.
	arena := uint64(0x7f8f00000020)
	mem := fakeMem{0x7f8f00000000: arena, 0x7f8ef8000000: arena}
	if got, want := glibcArenas(maps, mem), (Arenas{Count: 2, Heaps: 2, Exact: true}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got, want := glibcArenas(maps, nil), (Arenas{Count: 3, Heaps: 2}); got != want {
		t.Errorf("without its memory: got %+v, want %+v", got, want)
	}
	// A region of a heap's shape whose first word points nowhere near a heap is none.
	mem[0x7f8ef8000000] = 0x1234
	if got, want := glibcArenas(maps, mem).Count, 2; got != want {
		t.Errorf("with a region that is no heap: got %d arenas, want %d", got, want)
	}
}

// A real process: python3, whose threads each allocate 2 MB under glibc's malloc.
func TestGlibcArenasOfARealProcess(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	script := `
import threading, sys
go = threading.Barrier(5)
def work():
    keep = [bytearray(1000) for _ in range(2000)]
    go.wait()
    go.wait()
ts = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in ts]
go.wait()
print("ready", flush=True)
sys.stdin.readline()
go.wait()
`
	fs, err := NewFS(DefaultRoot)
	if err != nil {
		t.Fatal(err)
	}
	// glibc gives each new thread an arena of its own while there are fewer than
	// MALLOC_ARENA_MAX (8 per core by default): 4 threads and the main one make 5.
	for _, c := range []struct {
		env  string
		want int
	}{{"MALLOC_ARENA_MAX=1", 1}, {"MALLOC_ARENA_MAX=2", 2}, {"MALLOC_ARENA_MAX=64", 5}} {
		cmd := exec.Command(py, "-c", script)
		cmd.Env = append(os.Environ(), c.env)
		in, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		maps, err := fs.Maps(cmd.Process.Pid)
		var got Arenas
		if err == nil {
			got, err = fs.GlibcArenas(cmd.Process.Pid, maps)
		}
		in.Write([]byte("\n"))
		cmd.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if !got.Exact || got.Count != c.want {
			t.Errorf("%s: got %+v, want %d arenas, counted exactly", c.env, got, c.want)
		}
	}
}
