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

// A server that takes the asks and never answers leaves each Answer to its deadline; the
// connection is kept until maxOwed answers are due, then made again.
func TestStatsConnGivesUpASilentConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	c := &StatsConn{Addr: ln.Addr().String()}
	defer c.Close()
	var first string
	for round := range maxOwed + 1 {
		if err := c.Ask(time.Now().Add(50 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		local := c.conn.LocalAddr().String()
		if round == 0 {
			first = local
		}
		if again := local == first; again != (round < maxOwed) {
			t.Errorf("ask %d went over the first connection: %v, want %v", round+1, again, round < maxOwed)
		}
		if _, err := c.Answer(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Answer from a silent server: %v, want the deadline's error", err)
		}
	}
}

// A server busy under load answers after the deadline: the connection stays, the late
// answer is skipped, and the next Answer is the next ask's.
func TestStatsConnSkipsALateAnswer(t *testing.T) {
	release := make(chan struct{})
	var requests atomic.Int64
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		if n == 1 {
			<-release
		}
		w.Write([]byte(`{"allocator":"fake","requests":` + strings.Repeat("1", int(n)) + `}`))
	}))
	var conns atomic.Int64
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	defer s.Close()
	defer close(release)
	c := &StatsConn{Addr: s.Listener.Addr().String()}
	defer c.Close()
	if err := c.Ask(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Answer(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Answer while the server is busy: %v, want the deadline's error", err)
	}
	release <- struct{}{}
	if err := c.Ask(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := c.Answer()
	if err != nil {
		t.Fatal(err)
	}
	if got.Requests != 11 {
		t.Errorf("the answer counts %d requests, want 11: the second ask's, not the late first", got.Requests)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want the one kept", n)
	}
}
