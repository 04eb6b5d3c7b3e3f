package servers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Stats is the built-in server's own account, from GET /stats.
type Stats struct {
	Build     string `json:"build"`
	Allocator string `json:"allocator"`
	Version   string `json:"version"`
	// MallocFrom is the shared object that serves malloc.
	MallocFrom string `json:"malloc_from"`
	Requests   uint64 `json:"requests"`
	// RequestsByPath counts the requests by endpoint ("/", "/alloc", …, "other").
	RequestsByPath map[string]uint64 `json:"requests_by_path"`
	// LiveBytes is what the program holds through Rust's allocator, as it counts it.
	LiveBytes uint64 `json:"live_bytes"`
	HeldBytes uint64 `json:"held_bytes"`
	// LeakedBytes is what GET /leak has leaked on purpose, kept until the process ends.
	LeakedBytes uint64 `json:"leaked_bytes"`
	// AllocatedBytes is what the allocator says it hands out (nil: it does not say).
	AllocatedBytes *uint64 `json:"allocated_bytes"`
	// CommittedBytes is what the allocator holds from the OS.
	CommittedBytes *uint64 `json:"committed_bytes"`
	// Raw keeps the allocator's own statistics under its own names.
	Raw map[string]uint64 `json:"raw"`
	// Mode is "arena" when /alloc and /json allocate from a per-request bump arena, else "heap".
	Mode string `json:"mode"`
	// Purges counts the /purge requests served.
	Purges uint64 `json:"purges"`
	// Settings are the settings the allocator runs with, read back from it (jemalloc's
	// opt.*, mimalloc's options, tcmalloc's properties, glibc's arena count).
	Settings map[string]string `json:"settings"`
}

// Purge asks the built-in server at addr to give back what its allocator can, and
// returns the call it made (malloc_trim(0), mi_collect(true), …).
func Purge(ctx context.Context, client *http.Client, addr string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/purge", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		Call string `json:"call"`
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("/purge: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&r)
	return r.Call, err
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
