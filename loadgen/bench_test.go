package loadgen

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkParseHello is the cost of framing one small response.
func BenchmarkParseHello(b *testing.B) {
	resp := []byte("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\ndate: Sat, 21 Nov 2026 19:00:00 GMT\r\n\r\nHello, World!")
	var r response
	b.SetBytes(int64(len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		if _, done, err := r.feed(resp); !done || err != nil {
			b.Fatal("not parsed")
		}
	}
}

// BenchmarkAgainstServer drives ALLOCSCOPE_BENCH_URL (e.g. the built-in server) for 3 s
// per iteration and reports requests per second; scripts/bench-loadgen.sh compares
// the same against wrk and autocannon.
func BenchmarkAgainstServer(b *testing.B) {
	url := os.Getenv("ALLOCSCOPE_BENCH_URL")
	if url == "" {
		b.Skip("set ALLOCSCOPE_BENCH_URL to a server to load")
	}
	conns := 100
	if c := os.Getenv("ALLOCSCOPE_BENCH_CONNECTIONS"); c != "" && strings.Trim(c, "0123456789") == "" {
		conns = 0
		for _, d := range c {
			conns = conns*10 + int(d-'0')
		}
	}
	var total float64
	for b.Loop() {
		g, err := Start(context.Background(), Config{URL: url, Connections: conns, Duration: 3 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		for range g.Snapshots() {
		}
		total += g.Wait().ReqPerSecMean()
	}
	b.ReportMetric(total/float64(b.N), "req/s")
}
