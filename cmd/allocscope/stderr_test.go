package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// withStderr runs f with fd 2 the write end of a pipe, and returns what came out of it.
// fill first fills the pipe, so that f finds it full and what it wrote waits behind.
func withStderr(t *testing.T, fill bool, f func()) []byte {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	saved, err := unix.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	var filler int
	if fill {
		raw, _ := w.SyscallConn()
		raw.Control(func(fd uintptr) {
			unix.SetNonblock(int(fd), true)
			for {
				n, err := unix.Write(int(fd), make([]byte, 4096))
				if err != nil {
					break
				}
				filler += n
			}
			unix.SetNonblock(int(fd), false)
		})
	}
	out := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		out <- b
	}()
	if err := unix.Dup2(int(w.Fd()), 2); err != nil {
		t.Fatal(err)
	}
	f()
	unix.Dup2(saved, 2)
	unix.Close(saved)
	w.Close()
	b := <-out
	if len(b) < filler {
		t.Fatalf("%d bytes out of the pipe, less than the %d filling it", len(b), filler)
	}
	return b[filler:]
}

// The progress line reaches stderr whole, written raw into a pipe with room or, into a
// full one, through os.Stderr's write, which waits for the reader.
func TestWriteStderrWritesTheWholeLine(t *testing.T) {
	line := strings.Repeat("allocscope load 12,345 req/s ", 200)[:3000] + "\n"
	for _, full := range []bool{false, true} {
		got := withStderr(t, full, func() { writeStderr(line) })
		if !bytes.Equal(got, []byte(line)) {
			t.Errorf("full pipe %v: stderr got %d bytes %.30q…, want the %d of the line", full, len(got), got, len(line))
		}
	}
}
