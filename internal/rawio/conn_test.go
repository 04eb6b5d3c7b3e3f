package rawio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// A Conn over a loopback TCP connection writes and reads what a net.Conn would, waits
// for data in the poller, keeps the conn's deadline and sees the peer's close as EOF.
func TestConnOverLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(peer)
			return
		}
		peer <- c
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	other := <-peer
	if other == nil {
		t.Fatal("no connection accepted")
	}
	c, err := NewConn(nc.(*net.TCPConn))
	if err != nil {
		t.Fatal(err)
	}
	// More than the socket buffers take at once: Write waits in the poller for room.
	want := bytes.Repeat([]byte("0123456789"), 1<<20)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(other, int64(len(want))))
		got <- b
	}()
	if n, err := c.Write(want); n != len(want) || err != nil {
		t.Fatalf("Write: %d of %d, %v", n, len(want), err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("the peer read %d bytes, want %d", len(b), len(want))
	}

	// Read waits for the peer's answer, written only after Read is waiting or not.
	go other.Write([]byte("answer"))
	buf := make([]byte, 64)
	var read []byte
	for len(read) < len("answer") {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		read = append(read, buf[:n]...)
	}
	if string(read) != "answer" {
		t.Errorf("Read %q", read)
	}

	nc.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past the deadline: %v", err)
	}
	nc.SetReadDeadline(time.Time{})
	other.Close()
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("Read after the peer's close: %d, %v", n, err)
	}
}
