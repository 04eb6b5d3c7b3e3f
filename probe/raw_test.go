package probe

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// The sampler's raw reads give what os.ReadFile gives for the same files.
func TestReaderAgreesWithReadFile(t *testing.T) {
	var r reader
	for _, path := range []string{"/proc/self/cmdline", "/proc/self/environ", "/proc/stat", "testdata/proc/42/status"} {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.read(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		// /proc/stat moves between the two reads; its first word and length class do not.
		if path == "/proc/stat" {
			if !bytes.HasPrefix(got, []byte("cpu ")) || len(got) < len(want)/2 {
				t.Errorf("/proc/stat: read %.40q…", got)
			}
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: read %.40q…, os.ReadFile %.40q…", path, got, want)
		}
	}
}

// A PID whose process has ended and been reaped reads as ErrExited; other failures keep
// their path.
func TestReaderErrors(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fs := realFS(t)
	var r reader
	stat := fs.path(cmd.Process.Pid, "stat")
	if _, err := r.read(stat); err != nil {
		t.Fatalf("sleep's stat while it runs: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := r.read(stat); !errors.Is(err, ErrExited) {
		t.Errorf("a reaped process's stat: %v, want ErrExited", err)
	}
	if _, err := fs.ReadProcess(cmd.Process.Pid, 0); !errors.Is(err, ErrExited) {
		t.Errorf("ReadProcess of a reaped process: %v, want ErrExited", err)
	}
	_, err := r.read("/proc/self")
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != "read" || pe.Path != "/proc/self" {
		t.Errorf("reading a directory: %v, want a read PathError", err)
	}
}

// fdCount agrees with prometheus/procfs's count, on the real /proc and on a fixture.
func TestFDCountAgreesWithProcfs(t *testing.T) {
	for _, root := range []string{DefaultRoot, "testdata/proc"} {
		fs, err := NewFS(root)
		if err != nil {
			t.Fatal(err)
		}
		pid := os.Getpid()
		if root != DefaultRoot {
			pid = 42
		}
		p, err := fs.procfs.Proc(pid)
		if err != nil {
			t.Fatal(err)
		}
		want, err := p.FileDescriptorsLen()
		if err != nil {
			t.Fatal(err)
		}
		if got := fs.fdCount(pid); got != want || got == 0 {
			t.Errorf("%s: fdCount(%d) %d, procfs %d", root, pid, got, want)
		}
	}
	if !realFS(t).realProc {
		t.Error("/proc is not seen as a procfs mount")
	}
}

// The CPU meter's listing of /proc holds what os.ReadDir's does, save processes that
// came or went between the two.
func TestListProcAgreesWithReadDir(t *testing.T) {
	m := CPUMeter{FS: realFS(t)}
	names, err := m.listProc()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, n := range names {
		got[n] = true
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil && !got[e.Name()] {
			if _, err := os.Stat(filepath.Join("/proc", e.Name())); err == nil {
				t.Errorf("process %s, alive, is not listed", e.Name())
			}
		}
	}
	if !got[strconv.Itoa(os.Getpid())] || !got["stat"] {
		t.Errorf("the listing misses this process or /proc/stat: %d names", len(names))
	}
}
