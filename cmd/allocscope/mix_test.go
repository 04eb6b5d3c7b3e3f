package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// mixFile is a 1:2:5 mix on three of the built-in server's endpoints, against a host
// the load replaces with the server's address.
const mixFile = `# the done-when mix of issue 26
GET http://localhost/alloc?count=10
# weight: 1

GET http://localhost/json?items=5
# weight: 2

GET http://localhost/
X-Mix: yes
# weight: 5
`

func TestMixFileWeightsReachTheServersOwnCounters(t *testing.T) {
	alloc, err := servers.LookupAllocator("system")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := servers.NewBuilder().Build(context.Background(), alloc)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	p, err := servers.Start(context.Background(), servers.ServerSpec("system", bin.Path, "127.0.0.1", 2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(servers.DefaultStopGrace) })
	targets := filepath.Join(t.TempDir(), "mix.txt")
	if err := os.WriteFile(targets, []byte(mixFile), 0o644); err != nil {
		t.Fatal(err)
	}
	const conns, amount = 4, 8000
	out, stderr, code := allocscope(t, "load", "http://"+p.Addr+"/ignored", "--targets", targets, "-c", "4", "-a", "8000", "-d", "2m", "--json")
	if code != 0 {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}
	var res struct {
		Requests uint64 `json:"requests"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Requests != amount {
		t.Fatalf("load answered %d requests (%v), want %d: %s", res.Requests, err, amount, out)
	}
	st, err := servers.FetchStats(context.Background(), http.DefaultClient, p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	// Each connection sends a stretch of the 8-request cycle: whole cycles and one
	// partial, which holds at most w of a request of weight w. Hence conns*w.
	for path, w := range map[string]int{"/alloc": 1, "/json": 2, "/": 5} {
		got, want := int(st.RequestsByPath[path]), amount*w/8
		if d := got - want; d > conns*w || d < -conns*w {
			t.Errorf("the server counted %d requests to %s, want %d±%d (weights 1:2:5 of %d): %v", got, path, want, conns*w, amount, st.RequestsByPath)
		}
	}
	if st.RequestsByPath["other"] != 0 {
		t.Errorf("the mix reached paths it does not name: %v", st.RequestsByPath)
	}
}

func TestRunRecordsTheMixItSent(t *testing.T) {
	dir := t.TempDir()
	targets, save := filepath.Join(dir, "mix.txt"), filepath.Join(dir, "run.json")
	if err := os.WriteFile(targets, []byte(mixFile), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := allocscope(t, "run", "--headless", "--allocators", "system", "-c", "8", "-d", "1", "--baseline", "0", "--cooldown", "0",
		"--targets", targets, "-H", "X-All: 1", "--save", save)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	rec, err := record.Load(save)
	if err != nil {
		t.Fatal(err)
	}
	p := rec.Plan
	if len(p.Mix) != 3 || p.Mix[2] != (record.MixRequest{Method: "GET", URL: "http://localhost/", Weight: 5}) || p.Path != "" || p.Scenario != "" {
		t.Fatalf("plan: mix %+v, path %q, scenario %q", p.Mix, p.Path, p.Scenario)
	}
	if !strings.Contains(p.LoadCommand, "-H 'X-All: 1' --targets '"+targets+"'") {
		t.Fatalf("load command %q does not say the mix", p.LoadCommand)
	}
	res := rec.Targets[0].Runs[0].Result
	if res == nil || res.Requests == 0 || res.Errors["non2xx"] != 0 || res.Errors["parse"] != 0 {
		t.Fatalf("the mix's load result: %+v", res)
	}
}
