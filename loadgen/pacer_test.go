package loadgen

import (
	"context"
	"testing"
	"time"
)

func TestConstantPacerSchedule(t *testing.T) {
	p := ConstantPacer{Interval: 10 * time.Millisecond}
	for _, c := range []struct {
		elapsed time.Duration
		sent    uint64
		want    time.Duration
	}{
		{0, 0, 0},                                        // the first send is due at once
		{0, 1, 10 * time.Millisecond},                    // the second one interval later
		{25 * time.Millisecond, 2, 0},                    // behind schedule: due now
		{25 * time.Millisecond, 3, 5 * time.Millisecond}, // caught up: wait for the next slot
		{time.Second, 100, 0},
		{time.Second, 101, 10 * time.Millisecond},
	} {
		if got := p.Pace(c.elapsed, c.sent); got != c.want {
			t.Errorf("Pace(%s, %d) = %s, want %s", c.elapsed, c.sent, got, c.want)
		}
	}
}

func TestDueCountsWhatTheScheduleOwes(t *testing.T) {
	p := ConstantPacer{Interval: 10 * time.Millisecond}
	for _, c := range []struct {
		elapsed    time.Duration
		sent       uint64
		free, want int
	}{
		{-time.Millisecond, 0, 8, 0},     // not yet
		{0, 0, 8, 1},                     // one at the start
		{35 * time.Millisecond, 0, 8, 4}, // 0, 10, 20, 30 ms
		{35 * time.Millisecond, 0, 2, 2}, // but only as many as the pipeline has room for
		{35 * time.Millisecond, 4, 8, 0}, // all sent already
		{time.Second, 0, 1024, 101},
	} {
		if got := due(p, c.elapsed, c.sent, c.free); got != c.want {
			t.Errorf("due(%s, sent %d, free %d) = %d, want %d", c.elapsed, c.sent, c.free, got, c.want)
		}
	}
}

func TestResolveLooksUpOnceAndWorkersUseTheAddress(t *testing.T) {
	cfg, err := Config{URL: "http://localhost:8080/x"}.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:8080" && cfg.Addr != "[::1]:8080" {
		t.Fatalf("resolved %q", cfg.Addr)
	}
	// A resolved config needs no lookup: a host that cannot resolve is not looked up.
	cfg.URL = "http://no-such-host.invalid:8080/x"
	if _, err := cfg.target(context.Background()); err != nil {
		t.Fatalf("a resolved config was looked up again: %v", err)
	}
	// Validate looks nothing up either.
	if err := (Config{URL: "http://no-such-host.invalid/"}).Validate(); err != nil {
		t.Fatalf("Validate resolved the host: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Config{URL: "http://example.invalid/"}).Resolve(ctx); err == nil {
		t.Fatal("Resolve ignored its cancelled context")
	}
}
