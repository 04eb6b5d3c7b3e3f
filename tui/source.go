// Package tui is allocscope's terminal view: live panels and charts of a running
// experiment, the final summary, and the replay of a saved run. It reads run records
// only; what drives a run is behind the small interfaces below.
package tui

import (
	"context"

	"github.com/allocscope/allocscope/record"
)

// Session is an experiment in progress, as the view needs it.
type Session interface {
	// Snapshot is a copy of the record now; the view may keep it.
	Snapshot() *record.Record
	Phase() string
	Pause()
	Resume()
	Paused() bool
	// Changed receives when the record changed; Done is closed when the run has ended.
	Changed() <-chan struct{}
	Done() <-chan struct{}
	// Err is the run's error, valid after Done.
	Err() error
	// SavePath is where the run record is kept.
	SavePath() string
}

// StartFunc starts a new run; the run ends by itself or when ctx is cancelled.
type StartFunc func(ctx context.Context) (Session, error)
