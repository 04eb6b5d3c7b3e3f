package experiment

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/remote"
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

// pollRemote reads a remote lane's memory from its Prometheus source each interval. A
// source that stops answering ends the lane's sampling with an event; the others go on.
func (e *Experiment) pollRemote(ctx context.Context, i, run int, l lane) {
	src, err := remote.Parse(l.memory)
	if err != nil {
		return // checked before the run started
	}
	t := time.NewTicker(e.opts.Interval)
	defer t.Stop()
	failures := 0
	for {
		r, err := src.Read(ctx)
		if ctx.Err() != nil {
			return
		}
		e.mu.Lock()
		tr := &e.rec.Targets[i].Runs[run]
		if err == nil {
			failures = 0
			tr.Samples = append(tr.Samples, record.Sample{T: e.since(time.Now()), RSSBytes: r.RSSBytes, VSZBytes: r.VSZBytes})
		} else if failures++; failures == 3 {
			tr.SourceError = err.Error()
		}
		e.mu.Unlock()
		e.notify()
		if failures == 3 {
			e.event(l.name, "source-lost", fmt.Sprintf("%s: its memory source stopped answering (%v); the lane's memory ends here, the others go on", l.name, err))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
