package servers

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// statsServer answers /stats with its request count and counts the connections made.
func statsServer(t *testing.T, status int) (*httptest.Server, *atomic.Int64) {
	var conns, requests atomic.Int64
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		if r.URL.Path != "/stats" {
			t.Errorf("asked for %s", r.URL.Path)
		}
		w.WriteHeader(status)
		w.Write([]byte(`{"allocator":"fake","requests":` + strings.Repeat("1", int(n)) + `}`))
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &conns
}

func TestStatsConnsAskAllThenReadOverKeptConnections(t *testing.T) {
	a, aConns := statsServer(t, http.StatusOK)
	b, bConns := statsServer(t, http.StatusOK)
	cs := []*StatsConn{{Addr: a.Listener.Addr().String()}, {Addr: b.Listener.Addr().String()}}
	for round, want := range []uint64{1, 11, 111} {
		deadline := time.Now().Add(time.Minute)
		for _, c := range cs {
			if err := c.Ask(deadline); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range cs {
			s, err := c.Answer()
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if s.Allocator != "fake" || s.Requests != want {
				t.Fatalf("round %d: got %+v, want requests %d", round, s, want)
			}
		}
	}
	if aConns.Load() != 1 || bConns.Load() != 1 {
		t.Fatalf("connections made: %d and %d, want one each, kept", aConns.Load(), bConns.Load())
	}
	// A server that closed the connection is connected to again at the next ask.
	a.CloseClientConnections()
	c := cs[0]
	if err := c.Ask(time.Now().Add(time.Minute)); err == nil {
		if _, err = c.Answer(); err == nil {
			t.Fatal("an answer over a connection the server closed")
		}
	}
	if err := c.Ask(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Answer(); err != nil {
		t.Fatal(err)
	}
	if aConns.Load() != 2 {
		t.Fatalf("connections made: %d, want 2 (one again after the close)", aConns.Load())
	}
}

func TestStatsConnRefusesAnErrorStatus(t *testing.T) {
	s, _ := statsServer(t, http.StatusServiceUnavailable)
	c := &StatsConn{Addr: s.Listener.Addr().String()}
	if err := c.Ask(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Answer(); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("got %v, want the status", err)
	}
}

// A server that takes the ask and never answers leaves Answer to the deadline, which
// closes the connection; the next ask connects again.
func TestStatsConnAnswerKeepsTheDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	c := &StatsConn{Addr: ln.Addr().String()}
	for range 2 {
		if err := c.Ask(time.Now().Add(100 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Answer(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Answer from a silent server: %v, want the deadline's error", err)
		}
		defer (<-accepted).Close()
	}
}
