package probe

import (
	"os"
	"path/filepath"
	"testing"
)

// seedFiles adds every fixture file of one name under testdata as a seed.
func seedFiles(f *testing.F, name string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "proc", "*", name))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	seedFiles(f, "stat")
	f.Add([]byte("1 (x)  S 0"))
	f.Add([]byte("1 (a) b) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseStat(b)
		if err == nil && s.threads < 0 {
			t.Fatalf("negative thread count from %q", b)
		}
	})
}

func FuzzParseStatm(f *testing.F) {
	seedFiles(f, "statm")
	f.Add([]byte("1"))
	f.Fuzz(func(t *testing.T, b []byte) { parseStatm(b) })
}

func FuzzParseStatus(f *testing.F) {
	seedFiles(f, "status")
	f.Add([]byte("VmHWM:\nRssAnon:"))
	f.Add([]byte(":"))
	f.Fuzz(func(t *testing.T, b []byte) { parseStatus(b) })
}
