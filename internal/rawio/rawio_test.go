package rawio

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The raw reads agree with os.ReadFile on procfs files and on a file bigger than the
// first buffer, and reuse the buffer they are given.
func TestReadFileAgreesWithOS(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("0123456789abcdef"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for _, path := range []string{"/proc/self/cmdline", "/proc/version", "/proc/self/auxv", big} {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(path, buf)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: read %d bytes %q…, os.ReadFile %d", path, len(got), got[:min(len(got), 40)], len(want))
		}
		buf = got
	}
	again, _ := ReadFile("/proc/version", buf)
	if &again[0] != &buf[:1][0] {
		t.Error("a buffer big enough was not reused")
	}
}

func TestReadFileErrors(t *testing.T) {
	_, err := ReadFile("/proc/self/no such file", nil)
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != "open" || pe.Err != unix.ENOENT || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %#v, want open's ENOENT", err)
	}
	// A directory opens read-only; reading it is EISDIR, as for os.ReadFile.
	_, err = ReadFile("/proc/self", nil)
	if !errors.As(err, &pe) || pe.Op != "read" || pe.Err != unix.EISDIR {
		t.Errorf("a directory: %#v, want read's EISDIR", err)
	}
}

// Names lists what os.ReadDir lists, over several getdents64 buffers.
func TestNamesAgreesWithReadDir(t *testing.T) {
	dir := t.TempDir()
	for i := range 300 {
		name := fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 40))
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{dir, "/proc/self/task", "/proc/self"} {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, e := range entries {
			want = append(want, e.Name())
		}
		got, err := Names(d)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: Names %d entries %v…, os.ReadDir %d", d, len(got), got[:min(len(got), 5)], len(want))
		}
		if n, err := Count(d); err != nil || n != len(want) {
			t.Errorf("%s: Count %d (%v), os.ReadDir %d", d, n, err, len(want))
		}
	}
	if _, err := Names(filepath.Join(dir, "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing directory: %v", err)
	}
}

// Both Count and os.ReadDir open /proc/self/fd, so each counts its own descriptor;
// statx opens none, and on Linux 6.2 on /proc/PID/fd's size is the count of open files.
func TestCountAndSizeOfProcSelfFD(t *testing.T) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n, err := Count("/proc/self/fd")
	if err != nil || n != len(entries) {
		t.Errorf("Count %d (%v), os.ReadDir %d", n, err, len(entries))
	}
	size, err := Size("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	if size != st.Size() {
		t.Errorf("Size %d, os.Lstat %d", size, st.Size())
	}
	if size > 0 && size != int64(len(entries)-1) {
		t.Errorf("Size %d, want the %d open files less os.ReadDir's own", size, len(entries))
	}
	if _, err := Size("/proc/self/no such file"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}

// WriteAll on a full non-blocking pipe says how much went in, and EAGAIN, so that the
// caller can finish with a write that waits.
func TestWriteAllStopsAtAFullPipe(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	want := bytes.Repeat([]byte("abcdefgh"), 64<<10) // 512 KiB, over a pipe's 64 KiB
	n, err := WriteAll(p[1], want)
	if err != unix.EAGAIN || n <= 0 || n >= len(want) {
		t.Fatalf("WriteAll wrote %d of %d: %v, want part of it and EAGAIN", n, len(want), err)
	}
	got := make([]byte, 0, n)
	buf := make([]byte, 4096)
	for {
		m, err := Read(p[0], buf)
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:m]...)
	}
	if !bytes.Equal(got, want[:n]) {
		t.Errorf("the pipe held %d bytes, WriteAll said %d", len(got), n)
	}
	if n, err := WriteAll(p[1], want[:100]); n != 100 || err != nil {
		t.Errorf("WriteAll into the emptied pipe: %d, %v", n, err)
	}
}

// Writable tells an empty pipe from a full one.
func TestWritableSeesAFullPipe(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	if !Writable(p[1]) {
		t.Error("an empty pipe is not writable")
	}
	WriteAll(p[1], make([]byte, 1<<20))
	if Writable(p[1]) {
		t.Error("a full pipe is writable")
	}
	if Writable(-1) {
		t.Error("a bad fd is writable")
	}
}
