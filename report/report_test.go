package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allocscope/allocscope/record"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func fixture(t *testing.T) *record.Record {
	t.Helper()
	r, err := record.Load("testdata/run.json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from %s (go test -update refreshes it):\n%s", name, path, got)
	}
}

func TestGoldenMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, fixture(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "run.md", b.Bytes())
}

func TestGoldenCSV(t *testing.T) {
	var b bytes.Buffer
	if err := CSV(&b, fixture(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "run.csv", b.Bytes())
	rows := strings.Split(strings.TrimSpace(b.String()), "\n")
	r := fixture(t)
	want := 1
	for _, tg := range r.Targets {
		want += len(tg.Runs[0].Samples)
	}
	if len(rows) != want {
		t.Fatalf("%d CSV rows, want a header and one per sample (%d)", len(rows), want)
	}
}

func TestSeedTableShape(t *testing.T) {
	var b bytes.Buffer
	Markdown(&b, fixture(t))
	if !strings.Contains(b.String(), "| # | RSS | VSZ |\n|---|------|--------|\n| 1 | ") {
		t.Fatal("the per-target table is not the seed's `| # | RSS | VSZ |` table")
	}
	if !strings.Contains(b.String(), "| 1.00 |") {
		t.Fatal("the first target is not the 1.00 reference")
	}
}

func TestSeveralRunsShowSpread(t *testing.T) {
	r := fixture(t)
	for i := range r.Targets {
		second := r.Targets[i].Runs[0]
		second.Samples = append([]record.Sample(nil), second.Samples...)
		for j := range second.Samples {
			second.Samples[j].RSSBytes *= 2
		}
		r.Targets[i].Runs = append(r.Targets[i].Runs, second)
	}
	r.Plan.Runs = 2
	var b bytes.Buffer
	Markdown(&b, r)
	if !strings.Contains(b.String(), " ± ") || !strings.Contains(b.String(), "2 runs") {
		t.Fatalf("two runs without ±:\n%s", b.String())
	}
}

func TestExportRefusesMissingDirectoryAndUnknownFormat(t *testing.T) {
	r := fixture(t)
	err := Export("/nonexistent-dir/x.md", "", r)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent-dir") {
		t.Fatalf("got %v", err)
	}
	if err := Export(filepath.Join(t.TempDir(), "x.txt"), "", r); err == nil {
		t.Fatal("accepted .txt")
	}
	p := filepath.Join(t.TempDir(), "x.svg")
	if err := Export(p, "", r); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.HasPrefix(b, []byte("<?xml")) {
		t.Fatalf("not an SVG: %.40s", b)
	}
}

func TestMarkdownSaysWhichEngineLoaded(t *testing.T) {
	r := fixture(t)
	var without bytes.Buffer
	Markdown(&without, r)
	if strings.Contains(without.String(), "Load generator I/O") {
		t.Fatal("an engine line for a record that names no engine")
	}
	for i, engine := range []string{"io_uring", "epoll", "io_uring"} {
		if i < len(r.Targets) && r.Targets[i].Runs[0].Result != nil {
			r.Targets[i].Runs[0].Result.Engine = engine
		}
	}
	var b bytes.Buffer
	Markdown(&b, r)
	if want := "Load generator I/O: io_uring, epoll.\n"; !strings.Contains(b.String(), want) {
		t.Fatalf("no %q in:\n%s", want, b.String())
	}
}
