package main

import (
	"context"

	"github.com/allocscope/allocscope/experiment"
)

func runTUI(ctx context.Context, e *experiment.Experiment, x exports) error { return runHeadless(ctx, e, x) }
