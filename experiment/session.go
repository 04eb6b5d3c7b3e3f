package experiment

import "context"

// Session is an Experiment running in the background, for views that poll it.
type Session struct {
	*Experiment
	done chan struct{}
	err  error
}

// Start runs e in the background until it ends or ctx is cancelled.
func Start(ctx context.Context, e *Experiment) *Session {
	s := &Session{Experiment: e, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_, s.err = e.Run(ctx)
	}()
	return s
}

// Done is closed once the run has ended and its record is saved.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is the run's error (context.Canceled when interrupted); valid after Done.
func (s *Session) Err() error { return s.err }

// SavePath is where the record is saved.
func (s *Session) SavePath() string { return s.opts.SavePath }
