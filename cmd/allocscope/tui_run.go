package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/allocscope/allocscope/experiment"
	"github.com/allocscope/allocscope/tui"
)

// runTUI shows runs live; r starts another with the same plan. Whatever ends the view
// (q, a signal), the last run is stopped and saved before allocscope exits.
func runTUI(sigCtx *interruptible, first *experiment.Experiment, x exports) error {
	ctx, cancel := context.WithCancel(sigCtx)
	defer cancel()
	var mu sync.Mutex
	var last *experiment.Session
	start := func(viewCtx context.Context) (tui.Source, error) {
		e := first
		mu.Lock()
		defer mu.Unlock()
		if last != nil {
			// At most one run is alive: the view asks for another only once the last
			// has ended, and this makes sure of it whatever the keys did.
			<-last.Done()
			o := first.Options()
			var err error
			if o.SavePath, err = newRunPath(); err != nil {
				return nil, err
			}
			if e, err = experiment.New(o); err != nil {
				return nil, err
			}
		}
		runCtx, stop := context.WithCancel(ctx)
		context.AfterFunc(viewCtx, stop)
		last = experiment.Start(runCtx, e)
		x.current.set(e)
		return last, nil
	}
	err := tui.Run(ctx, tui.Live(tui.StartFunc(start)).WithView(string(x.view)))
	cancel()
	mu.Lock()
	s := last
	mu.Unlock()
	if s == nil {
		return err
	}
	<-s.Done()
	if saveErr := s.SaveErr(); saveErr != nil {
		fmt.Fprintf(os.Stderr, "allocscope: the run record could NOT be saved to %s: %v\n", s.SavePath(), saveErr)
		if err == nil {
			err = fmt.Errorf("the run record could not be saved to %s", s.SavePath())
		}
	} else {
		fmt.Fprintf(os.Stderr, "run record saved to %s; view it again with allocscope replay %s\n", s.SavePath(), s.SavePath())
	}
	if exportErr := x.write(s.Snapshot(), s.SavePath()); err == nil {
		err = exportErr
	}
	if err == nil {
		err = incomplete(s.Snapshot())
	}
	if sig := sigCtx.interrupted(); err == nil && sig != nil {
		err = sig
	}
	return err
}
