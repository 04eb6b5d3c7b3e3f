package experiment

import (
	"errors"
	"testing"
	"time"

	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/record"
)

func TestValidateNamesTheRefusedField(t *testing.T) {
	base := Options{Allocators: []string{"system"}, Limits: loadgen.Limits{OpenFiles: 1 << 20, EphemeralPorts: 60000}}.WithDefaults()
	for _, c := range []struct {
		edit  func(*Options)
		field Field
		want  string
	}{
		{func(o *Options) { o.Connections = -1 }, FieldConnections, "Connections -1: connections must be at least 1"},
		{func(o *Options) { o.Threads = 5000 }, FieldThreads, "Threads 5000: use 1 to 1024 server threads"},
		{func(o *Options) { o.Interval = time.Millisecond }, FieldInterval, "Interval 1ms: use 50ms to 1m"},
		{func(o *Options) { o.Cooldown = -time.Second }, FieldCooldown, "Cooldown -1s: cannot be negative"},
		{func(o *Options) { o.Path = "/x" }, FieldScenario, "Scenario and Path both set: choose one"},
		{func(o *Options) { o.Fit, o.FitTrials, o.Sequential = true, 3, true }, FieldFit, "Fit searches the lanes side by side: drop Sequential"},
		{func(o *Options) { o.Fit, o.FitTrials, o.Runs = true, 3, 2 }, FieldFit, "Fit runs its own series of trials: drop Runs and Sweep"},
		{func(o *Options) { o.Purge = true }, FieldPurgeWait, "PurgeWait must be above 0 (e.g. 3s)"},
	} {
		o := base
		c.edit(&o)
		err := o.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: got %v, want a *FieldError", c.want, err)
			continue
		}
		if fe.Field != c.field || err.Error() != c.want {
			t.Errorf("got field %s, %q; want %s, %q", fe.Field, err, c.field, c.want)
		}
	}
}

func TestSweepStepKeepsTheFieldError(t *testing.T) {
	o := Options{Allocators: []string{"system"}, Limits: loadgen.Limits{OpenFiles: 1 << 20, EphemeralPorts: 60000}}.WithDefaults()
	o.Sweep = &record.Sweep{Parameter: record.SweepConnections, Values: []string{"50", "0"}}
	err := o.Validate()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != FieldConnections || fe.Value != 0 {
		t.Fatalf("got %#v, want a FieldError for Connections 0", err)
	}
	if got, want := err.Error(), "connections=0: Connections 0: connections must be at least 1"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
