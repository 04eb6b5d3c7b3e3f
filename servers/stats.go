package servers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Stats is the built-in server's own account, from GET /stats.
type Stats struct {
	Build     string `json:"build"`
	Allocator string `json:"allocator"`
	Version   string `json:"version"`
	// MallocFrom is the shared object that serves malloc.
	MallocFrom string `json:"malloc_from"`
	Requests   uint64 `json:"requests"`
	// LiveBytes is what the program holds through Rust's allocator, as it counts it.
	LiveBytes uint64 `json:"live_bytes"`
	HeldBytes uint64 `json:"held_bytes"`
	// AllocatedBytes is what the allocator says it hands out (nil: it does not say).
	AllocatedBytes *uint64 `json:"allocated_bytes"`
	// CommittedBytes is what the allocator holds from the OS.
	CommittedBytes *uint64 `json:"committed_bytes"`
	// Raw keeps the allocator's own statistics under its own names.
	Raw map[string]uint64 `json:"raw"`
}

// FetchStats asks the built-in server at addr for its /stats.
func FetchStats(ctx context.Context, client *http.Client, addr string) (Stats, error) {
	var s Stats
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/stats", nil)
	if err != nil {
		return s, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("/stats: %s", resp.Status)
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s)
	return s, err
}
