package experiment

import "testing"

func TestSameServerTargetsShareAGroupWithEachOfTheirLanes(t *testing.T) {
	o := Options{
		Allocators:       []string{"system"},
		Targets:          []CustomTarget{{Name: "a", Command: "./a {port}"}, {Name: "b", Command: "./b {port}"}, {Name: "c", Command: "./c {port}"}},
		TargetAllocators: []string{"system", "jemalloc"},
		SameServer:       [][]string{{"a", "b"}},
	}
	want := map[string]string{"system": "", "a+system": "a,b", "a+jemalloc": "a,b", "b+system": "a,b", "b+jemalloc": "a,b", "c+system": "", "c+jemalloc": ""}
	lanes := o.lanes()
	if len(lanes) != len(want) {
		t.Fatalf("%d lanes, want %d", len(lanes), len(want))
	}
	for _, l := range lanes {
		if g, ok := want[l.name]; !ok || g != l.group {
			t.Errorf("lane %s: group %q, want %q (known: %v)", l.name, l.group, g, ok)
		}
	}
}
