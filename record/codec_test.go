package record

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sample() *Record {
	return &Record{Schema: SchemaVersion, Tool: Tool{Version: "test"}, State: StateDone,
		Targets: []Target{{Name: "system", Runs: []TargetRun{{PID: 1, Samples: []Sample{{RSSBytes: 4096}}}}}}}
}

func TestDecodeRejectsWhatIsNotARecord(t *testing.T) {
	var full bytes.Buffer
	Encode(&full, sample())
	cases := map[string]string{
		"":                                      "empty",
		"hello":                                 "not an allocscope run record",
		`{"a":1}`:                               "no schema version",
		`[1,2,3]`:                               "not an allocscope run record",
		`{"schema":99,"tool":{}}`:               "newer than the 1",
		`{"schema":0,"tool":{}}`:                "not an allocscope run record",
		full.String()[:full.Len()/2]:            "truncated",
		`{"schema":1,"tool":{},"targets":[{}]}`: "no name",
	}
	for in, want := range cases {
		_, err := Unmarshal([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.30q: got %v, want %q", in, err, want)
		}
	}
}

func TestSaveIsAtomicAndLoadable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.json")
	if err := Save(p, sample()); err != nil {
		t.Fatal(err)
	}
	r, err := Load(p)
	if err != nil || r.Targets[0].Runs[0].Samples[0].RSSBytes != 4096 {
		t.Fatalf("%v %+v", err, r)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if err := Save("/nonexistent-dir/r.json", sample()); err == nil || !strings.Contains(err.Error(), "/nonexistent-dir/r.json") {
		t.Fatalf("got %v", err)
	}
}

func TestCloneIsDeepAndEqual(t *testing.T) {
	a, err := Load("../report/testdata/run.json")
	if err != nil {
		t.Fatal(err)
	}
	a.Targets[0].Runs[0].Cycles = []Cycle{{Index: 1, LoadStart: time.Second, LoadEnd: 2 * time.Second, Peak: &PeakRSS{Bytes: 5, Source: PeakKernel}}}
	b := a.Clone()
	var ja, jb bytes.Buffer
	Encode(&ja, a)
	Encode(&jb, b)
	if !bytes.Equal(ja.Bytes(), jb.Bytes()) {
		t.Fatal("the clone differs from the original")
	}
	b.Targets[0].Runs[0].Samples[0].RSSBytes = 1
	*b.Targets[0].Runs[0].Heap[0].CommittedBytes = 1
	b.Targets[0].Runs[0].Result.Errors["reset"] = 99
	b.Targets[0].Runs[0].Cycles[0].LoadEnd = 1
	b.Targets[0].Runs[0].Cycles[0].Peak.Bytes = 1
	if a.Targets[0].Runs[0].Cycles[0].LoadEnd == 1 || a.Targets[0].Runs[0].Cycles[0].Peak.Bytes == 1 {
		t.Fatal("the clone shares its cycles with the original")
	}
	if a.Targets[0].Runs[0].Samples[0].RSSBytes == 1 || *a.Targets[0].Runs[0].Heap[0].CommittedBytes == 1 || a.Targets[0].Runs[0].Result.Errors["reset"] == 99 {
		t.Fatal("the clone shares memory with the original")
	}
}

func FuzzUnmarshal(f *testing.F) {
	var full bytes.Buffer
	Encode(&full, sample())
	f.Add(full.Bytes())
	f.Add([]byte(`{"schema":1,"tool":{},"targets":[{"name":"x","runs":[{"phases":{}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Unmarshal(data)
		if err != nil {
			return
		}
		// Anything accepted must summarise and re-encode without a panic.
		Summarize(r)
		var b bytes.Buffer
		if err := Encode(&b, r); err != nil {
			t.Fatal(err)
		}
	})
}
