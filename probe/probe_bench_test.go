package probe

import (
	"os"
	"testing"
)

// Cost of each source for this process; run with -benchmem. `BenchmarkSmapsRollup` at a
// large RSS: PROBE_BENCH_MIB=1024 go test -bench Smaps ./probe.

func BenchmarkReadProcess(b *testing.B) {
	fs := realFS(b)
	var r reader
	pid := os.Getpid()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fs.readProcess(&r, pid, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSource(b *testing.B, file string, parse func([]byte)) {
	fs := realFS(b)
	var r reader
	path := fs.path(os.Getpid(), file)
	b.ReportAllocs()
	for b.Loop() {
		buf, err := r.read(path)
		if err != nil {
			b.Fatal(err)
		}
		parse(buf)
	}
}

func BenchmarkStatm(b *testing.B) {
	benchSource(b, "statm", func(buf []byte) { parseStatm(buf) })
}

func BenchmarkStatus(b *testing.B) {
	benchSource(b, "status", func(buf []byte) { parseStatus(buf) })
}

func BenchmarkStat(b *testing.B) {
	benchSource(b, "stat", func(buf []byte) { parseStat(buf) })
}

func BenchmarkProcfsStatm(b *testing.B) {
	fs := realFS(b)
	p, _ := fs.procfs.Proc(os.Getpid())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Statm(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProcfsStatus(b *testing.B) {
	fs := realFS(b)
	p, _ := fs.procfs.Proc(os.Getpid())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.NewStatus(); err != nil {
			b.Fatal(err)
		}
	}
}

var benchHeld []byte

func BenchmarkSmapsRollup(b *testing.B) {
	if mib := os.Getenv("PROBE_BENCH_MIB"); mib != "" {
		n := 0
		for _, c := range mib {
			n = n*10 + int(c-'0')
		}
		benchHeld = make([]byte, n<<20)
		for i := 0; i < len(benchHeld); i += 4096 {
			benchHeld[i] = 1
		}
	}
	fs := realFS(b)
	b.ReportAllocs()
	var r reader
	for b.Loop() {
		if _, err := fs.smapsRollup(&r, os.Getpid()); err != nil {
			b.Fatal(err)
		}
	}
}
