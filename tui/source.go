// Package tui is allocscope's terminal view: live panels and charts of a running
// experiment, the final summary, and the replay of a saved run. It reads run records
// only; what drives a run is behind the small interfaces below.
package tui

import (
	"context"

	"github.com/allocscope/allocscope/record"
)

// Source is a run or a watch in progress, as the view reads it.
type Source interface {
	// Snapshot is a copy of the record now; the view may keep it.
	Snapshot() *record.Record
	Phase() record.Phase
	// Changed receives when the record changed; Done is closed when it has ended.
	Changed() <-chan struct{}
	Done() <-chan struct{}
	// Err is the source's error, valid after Done.
	Err() error
	// SavePath is where the record is kept.
	SavePath() string
}

// Controller is what a source that sends load offers besides: the space key.
type Controller interface {
	Pause()
	Resume()
	Paused() bool
}

// Purger is what a source running the built-in server offers besides: the purge key,
// which asks every lane's allocator to give memory back now.
type Purger interface {
	PurgeNow()
}

// StartFunc starts a new run; the run ends by itself or when ctx is cancelled.
type StartFunc func(ctx context.Context) (Source, error)
