package experiment

import (
	"context"
	"net/http"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// pollHeap asks the built-in server for its allocator's own figures each interval.
func (e *Experiment) pollHeap(ctx context.Context, i, run int, addr string) {
	client := &http.Client{Timeout: e.opts.Interval}
	t := time.NewTicker(e.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s, err := servers.FetchStats(ctx, client, addr)
		if err != nil {
			continue // busy under load or gone: the probe series tells which
		}
		e.mu.Lock()
		tr := &e.rec.Targets[i].Runs[run]
		tr.Heap = append(tr.Heap, record.HeapStats{
			T: e.since(time.Now()), AllocatedBytes: s.AllocatedBytes, CommittedBytes: s.CommittedBytes,
			LiveBytes: s.LiveBytes, Requests: s.Requests, Version: s.Version, Raw: s.Raw,
		})
		e.mu.Unlock()
		e.notify()
	}
}
