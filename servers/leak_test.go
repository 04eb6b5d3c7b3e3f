package servers

import (
	"fmt"
	"testing"
)

func TestLeakRaisesRSSByWhatItLeaksAndStopsAtTheBudget(t *testing.T) {
	bin := build(t, "system")
	spec := ServerSpec("system", bin.Path, "", 2)
	spec.Command = append(spec.Command, "--memory-budget", "48MiB")
	p := start(t, spec)
	const leak = 32 << 20
	before := rssBytes(t, p.PID)
	if code, body := get(t, fmt.Sprintf("http://%s/leak?bytes=%d", p.Addr, leak)); code != 200 {
		t.Fatalf("/leak = %d %s", code, body)
	}
	// The leaked block is touched page by page, so all of it is resident; the request
	// itself may add a few pages of the allocator's and the runtime's.
	after := rssBytes(t, p.PID)
	if grew := int64(after) - int64(before); grew < leak || grew > leak+4<<20 {
		t.Errorf("RSS grew by %d bytes after leaking %d", grew, leak)
	}
	if s := stats(t, p); s.LeakedBytes != leak || s.LiveBytes < leak {
		t.Errorf("/stats after the leak: leaked %d, live %d; want %d leaked and live", s.LeakedBytes, s.LiveBytes, leak)
	}
	// The budget has 16 MiB left: another 32 MiB is refused, and nothing is leaked.
	if code, body := get(t, fmt.Sprintf("http://%s/leak?bytes=%d", p.Addr, leak)); code != 429 {
		t.Errorf("a leak past the budget = %d %s; want 429", code, body)
	}
	if code, _ := get(t, "http://"+p.Addr+"/leak?bytes=1TB"); code != 400 {
		t.Errorf("/leak?bytes=1TB = %d; want 400", code)
	}
	if s := stats(t, p); s.LeakedBytes != leak {
		t.Errorf("refused leaks leaked: %d bytes", s.LeakedBytes)
	}
}
