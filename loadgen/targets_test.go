package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReadTargetsReadsVegetasHTTPFormatAndWeights(t *testing.T) {
	got, err := ReadTargets("testdata/targets/mix.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []Request{
		{Method: "GET", URL: "http://localhost/alloc?count=10", Weight: 5},
		{Method: "GET", URL: "http://localhost/json?items=10", Headers: map[string]string{"X-Account-ID": "8675309"}, Weight: 2},
		{Method: "POST", URL: "http://localhost/things", Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"items":[1,2,3]}`), Weight: 1},
		{Method: "HEAD", URL: "http://localhost/", Weight: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestBadTargetsAreRefusedWithTheirLine(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"", "t.txt: no targets"},
		{"# only a comment\n\n", "t.txt: no targets"},
		{"FETCH http://localhost/", "t.txt:1: bad method \"FETCH\""},
		{"GET", "t.txt:1: \"GET\" is not a target"},
		{"GET /alloc", "t.txt:1: bad URL \"/alloc\""},
		{"GET https://localhost/", "t.txt:1: bad URL"},
		{"GET http://localhost/\nX-Broken", "t.txt:2: bad header \"X-Broken\""},
		{"GET http://localhost/\nX-Empty:", "t.txt:2: bad header"},
		{"POST http://localhost/\n@missing.json", "t.txt:2: body: open testdata/targets/missing.json: no such file"},
		{"POST http://localhost/\n@", "t.txt:2: @ names no body file"},
		{"POST http://localhost/\n@<<EOF", "t.txt:2: inline bodies"},
		{"POST http://localhost/\n@item.json\nX-Late: 1", "t.txt:3: \"X-Late: 1\" follows the target's body"},
		{"# weight: 2\nGET http://localhost/", "t.txt:1: \"# weight: 2\" belongs to a target"},
		{"GET http://localhost/\n# weight: 0", "t.txt:2: weight \"0\" must be a whole number of at least 1"},
		{"GET http://localhost/\n# weight: -1", "t.txt:2: weight \"-1\""},
		{"GET http://localhost/\n# weight: lots", "t.txt:2: weight \"lots\""},
		{"GET http://localhost/\n\nX-Orphan: 1", "t.txt:3: \"X-Orphan: 1\" is not a target"},
	} {
		_, err := ParseTargets(strings.NewReader(c.file), "t.txt", "testdata/targets")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want one line starting %q", c.file, err, c.want)
		}
	}
}

func TestConsecutiveTargetsNeedNoBlankLine(t *testing.T) {
	got, err := ParseTargets(strings.NewReader("GET http://h/a\nHEAD http://h/b\nX-K: v\nGET http://h/c"), "t", ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Headers["X-K"] != "v" || got[2].URL != "http://h/c" {
		t.Fatalf("got %+v", got)
	}
}

func TestCycleHoldsTheWeightsInEveryStretch(t *testing.T) {
	mix := []Request{{Weight: 2}, {Weight: 4}, {Weight: 10}} // reduced by 2 to 1:2:5
	seq := cycle(mix)
	if len(seq) != 8 {
		t.Fatalf("cycle of %d, want 8 (the weights over their common factor)", len(seq))
	}
	// Any n consecutive requests, wrapping around the cycle, hold request i between
	// floor and ceil of n*w_i/8, give or take one: smooth round-robin's promise, which
	// is what lets a connection that stops mid-cycle keep the mix.
	for start := range seq {
		for n := 1; n <= 3*len(seq); n++ {
			count := make([]int, len(mix))
			for k := range n {
				count[seq[(start+k)%len(seq)]]++
			}
			for i, w := range []int{1, 2, 5} {
				exact := float64(n*w) / 8
				if d := float64(count[i]) - exact; d > 1.5 || d < -1.5 {
					t.Fatalf("from %d, %d requests hold %d of request %d, want about %.1f (cycle %v)", start, n, count[i], i, exact, seq)
				}
			}
		}
	}
}

func TestMixReachesTheServerInItsWeights(t *testing.T) {
	forEachEngine(t, testMixReachesTheServerInItsWeights)
}

func testMixReachesTheServerInItsWeights(t *testing.T, engine string) {
	var mu sync.Mutex
	seen := map[string]int{}
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-Mix")]++
		mu.Unlock()
		// HEAD gets headers announcing a body it must not read: the parser has to know
		// which request each response answers.
		w.Header().Set("Content-Length", "11")
		if r.Method != "HEAD" {
			fmt.Fprint(w, "hello world")
		}
	})
	mix := []Request{
		{Method: "GET", URL: "http://elsewhere:9/a?x=1", Weight: 1},
		{Method: "HEAD", URL: "http://elsewhere:9/b", Weight: 2},
		{Method: "GET", URL: "http://elsewhere:9/c", Headers: map[string]string{"X-Mix": "own"}, Weight: 5},
	}
	const conns, amount = 6, 8000
	for _, p := range []int{1, 8} {
		mu.Lock()
		clear(seen)
		mu.Unlock()
		r := run(t, Config{Engine: engine, URL: s.URL, Mix: mix, Headers: map[string]string{"X-Mix": "all"}, Connections: conns, Pipelining: p, Amount: amount, Duration: time.Minute})
		if r.Requests != amount || r.Errors.Total() != 0 {
			t.Fatalf("pipelining %d: %d responses, errors %+v", p, r.Requests, r.Errors)
		}
		mu.Lock()
		got := []int{seen["GET /a?x=1 all"], seen["HEAD /b all"], seen["GET /c own"]}
		mu.Unlock()
		// Each connection sends a stretch of the cycle: whole cycles plus one partial,
		// which holds at most w_i of request i, so conns*w_i bounds the difference.
		for i, w := range []int{1, 2, 5} {
			want := amount * w / 8
			if d := got[i] - want; d > conns*w || d < -conns*w {
				t.Fatalf("pipelining %d: the server saw %v of the mix 1:2:5 (%v); want %d±%d of request %d", p, got, seen, want, conns*w, i)
			}
		}
	}
}

func TestMixIsValidated(t *testing.T) {
	for _, c := range []struct {
		mix  []Request
		want string
	}{
		{[]Request{{Method: "GET", URL: "http://h/", Weight: 0}}, "weight 0 must be at least 1"},
		{[]Request{{Method: "FETCH", URL: "http://h/", Weight: 1}}, "bad method"},
		{[]Request{{Method: "GET", URL: "http://h/", Weight: 1, Headers: map[string]string{"X": "a\r\nb"}}}, "header"},
		{[]Request{{Method: "GET", URL: "http://h/", Weight: 1000}, {Method: "GET", URL: "http://h/", Weight: 1}}, "at most 1000"},
	} {
		err := Config{URL: "http://127.0.0.1:1/", Mix: c.mix}.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.mix, err, c.want)
		}
	}
	if _, err := Start(context.Background(), Config{URL: "http://127.0.0.1:1/", Mix: []Request{{Method: "GET", URL: "http://h/", Weight: -1}}}); err == nil {
		t.Fatal("Start accepted a weight of -1")
	}
}
