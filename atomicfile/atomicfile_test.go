package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFileReplacesContentWithMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, perm := range []fs.FileMode{0o644, 0o755} {
		if err := WriteFile(path, []byte("new"), perm); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "new" {
			t.Fatalf("content: got %q, want %q", got, "new")
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := st.Mode().Perm(), perm; got != want {
			t.Fatalf("mode: got %v, want %v", got, want)
		}
	}
	assertOnly(t, dir, "run.json")
}

func TestFailedWriteKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory where the file is renamed to: everything up to the rename succeeds,
	// then the rename fails, and the temporary file must go.
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(blocked, []byte("new"), 0o644)
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Path != blocked {
		t.Fatalf("got %v, want an error naming %s", err, blocked)
	}
	// A file larger than the size limit the kernel enforces for this process fails in
	// the write itself.
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old) })
	// Exceeding RLIMIT_FSIZE raises SIGXFSZ, which Go ignores for its own process, so
	// the write returns EFBIG instead.
	lim := syscall.Rlimit{Cur: 2, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("cannot lower the file size limit: %v", err)
	}
	err = WriteFile(path, []byte("new and longer"), 0o644)
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	if !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("got %v, want EFBIG", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Fatalf("after a failed write: got %q, want the old content", got)
	}
	assertOnly(t, dir, "blocked", "run.json")
}

// assertOnly fails unless dir holds exactly names (no temporary file left behind).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("dir holds %v, want %v", got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("dir holds %v, want %v", got, names)
		}
	}
}
