package probe

import (
	"math"
	"testing"
)

func TestMachineCPUFromProcStat(t *testing.T) {
	for _, c := range []struct {
		line string
		want MachineCPU
		bad  bool
	}{
		{line: "cpu  1400 0 300 1000 0 20 30 50 7 0\n", want: MachineCPU{Busy: 1750, IRQ: 50, Idle: 1000}},
		// A kernel older than 2.6.11 writes no steal.
		{line: "cpu  10 1 2 30 4 5 6\n", want: MachineCPU{Busy: 13, IRQ: 11, Idle: 34}},
		{line: "cpu0 10 1 2 30 4 5 6 7\n", bad: true},
		{line: "cpu 1 2 3\n", bad: true},
		{line: "cpu 1 2 x 4 5 6 7 8\n", bad: true},
	} {
		got, err := parseMachineCPU([]byte(c.line))
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("%q: got %+v, %v; want %+v (error: %v)", c.line, got, err, c.want, c.bad)
		}
	}
}

// The fixture: between two readings the machine spent 800 ticks (its two cores); of the
// 550 busy ones, allocscope (100) spent 10, its load worker (103) ended and was reaped,
// the server (102) and a child it started (104) spent 240, and a hog outside the tree
// (200) the remaining 230.
func TestCPUMeterSplitsTheMachineBetweenTheTreeAndOtherWork(t *testing.T) {
	before, err := NewFS("testdata/cpu/before")
	if err != nil {
		t.Fatal(err)
	}
	after, err := NewFS("testdata/cpu/after")
	if err != nil {
		t.Fatal(err)
	}
	m := &CPUMeter{FS: before, Root: 100}
	groups := map[int]int{102: 1, 103: 2}
	if _, ok, err := m.Read(groups, 2); ok || err != nil {
		t.Fatalf("the first reading: ok %v, err %v; want no interval yet", ok, err)
	}
	m.FS = after
	got, ok, err := m.Read(groups, 2)
	if !ok || err != nil {
		t.Fatalf("ok %v, err %v", ok, err)
	}
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"busy", got.Busy, 100 * 550.0 / 800},
		{"irq", got.IRQ, 100 * 50.0 / 800},
		// allocscope's own 10 ticks, and the 70 its load worker spent after the last reading.
		{"allocscope", got.Groups[0], 100 * 80.0 / 800},
		{"servers", got.Groups[1], 100 * 240.0 / 800},
		{"generators", got.Groups[2], 0},
		{"other", got.Other, 100 * 230.0 / 800},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s: got %.4f%%, want %.4f%%", c.what, c.got, c.want)
		}
	}
}

func TestCPUMeterSplitsNothingWhenNoTimePassed(t *testing.T) {
	// The same reading twice: no time passed, nothing to split.
	fs, err := NewFS("testdata/cpu/after")
	if err != nil {
		t.Fatal(err)
	}
	m := &CPUMeter{FS: fs, Root: 100}
	m.Read(nil, 0)
	got, ok, err := m.Read(nil, 0)
	if !ok || err != nil || got.Other != 0 || got.Busy != 0 || len(got.Groups) != 1 {
		t.Fatalf("got %+v, ok %v, err %v", got, ok, err)
	}
}

// Between whole scans the meter reads the tree and the processes new since its last
// Read, not those it saw outside the tree. The "later" fixture follows "after": the
// server's child 104 started 105, the hog 200 started 201, and 200's stat now names the
// server 102 as its parent, which a real process outside the tree cannot come to do: a
// meter that read it again would count the hog's 700 ticks to the servers. Of the 700
// ticks between the readings, 400 were busy: allocscope 10, the servers 100 (102), 20
// (104) and the 50 of the new 105, and the hog's 170 and 201's 50 the other work.
func TestCPUMeterReadsOnlyTheTreeAndNewProcessesBetweenScans(t *testing.T) {
	m := &CPUMeter{Root: 100}
	groups := map[int]int{102: 1}
	var got CPUSplit
	for _, dir := range []string{"before", "after", "later"} {
		fs, err := NewFS("testdata/cpu/" + dir)
		if err != nil {
			t.Fatal(err)
		}
		m.FS = fs
		if got, _, err = m.Read(groups, 2); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
	}
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"busy", got.Busy, 100 * 400.0 / 700},
		{"allocscope", got.Groups[0], 100 * 10.0 / 700},
		{"servers", got.Groups[1], 100 * 170.0 / 700},
		{"other", got.Other, 100 * 220.0 / 700},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s: got %.4f%%, want %.4f%%", c.what, c.got, c.want)
		}
	}
	// The next whole scan reads every process again.
	m.sinceScan = DefaultRescanEvery
	if got, _, _ = m.Read(groups, 2); got.Busy != 0 {
		t.Errorf("the same reading again: got %+v, want nothing to split", got)
	}
	if _, ok := m.prev.tree[200]; !ok {
		t.Errorf("the scan did not read the whole table again: 200's stat names a parent in the tree, but the tree is %v", m.prev.tree)
	}
}
