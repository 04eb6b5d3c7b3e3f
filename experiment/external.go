package experiment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/loadgen/external"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// commandLoads loads each lane with the user's own tool (run --load-command) instead of
// the built-in generator: memory, cgroups, phases and runs go on as usual; the lane's
// load figures are what the tool printed, or unknown.
type commandLoads struct {
	tmpl  external.Template
	guard []string
	// lanes numbers the lanes for {lane}, by name.
	lanes map[string]int
	grace time.Duration
}

func newCommandLoads(opts Options) (commandLoads, error) {
	tmpl, err := external.ParseTemplate(opts.ExternalLoad)
	if err != nil {
		return commandLoads{}, err
	}
	c := commandLoads{tmpl: tmpl, lanes: map[string]int{}, grace: cmp.Or(opts.ExternalGrace, external.DefaultGrace),
		guard: append(append([]string(nil), opts.Self...), servers.GuardCommand, "--")}
	for i, l := range opts.lanes() {
		c.lanes[l.name] = i
	}
	return c, nil
}

func (c commandLoads) StartLoad(ctx context.Context, cfg loadgen.Config) (loadRun, error) {
	dir, err := os.MkdirTemp("", "allocscope-load-")
	if err != nil {
		return nil, err
	}
	csv := filepath.Join(dir, "stats")
	command, err := c.tmpl.Expand(external.Values{URL: cfg.URL, Connections: cfg.Connections, Duration: cfg.Duration, Name: cfg.Name, Lane: c.lanes[cfg.Name], CSV: csv})
	if err == nil {
		var r *external.Run
		r, err = external.Start(ctx, external.Spec{Name: cfg.Name, Command: command, Guard: c.guard, Deadline: cfg.Duration + c.grace})
		if err == nil {
			l := &commandLoad{run: r, ctx: ctx, duration: cfg.Duration, grace: c.grace, dir: dir, csv: csv, done: make(chan struct{})}
			go func() {
				<-r.Done()
				l.finish()
				close(l.done)
			}()
			return l, nil
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// commandLoad is one lane's load command in flight, as a loadRun.
type commandLoad struct {
	run      *external.Run
	ctx      context.Context
	duration time.Duration
	grace    time.Duration
	dir, csv string
	// done closes when the command has ended and its figures are read: a tool gives no
	// figures second by second.
	done    chan struct{}
	outcome external.Outcome
	figures external.Figures
	parsed  bool
}

// finish reads what the command left: its outcome and its figures.
func (l *commandLoad) finish() {
	l.outcome = l.run.Wait()
	l.figures, l.parsed = external.Read(l.outcome.Stdout, l.csv)
	os.RemoveAll(l.dir)
}

func (l *commandLoad) PID() int                 { return l.run.PID() }
func (l *commandLoad) Poll() []loadgen.Snapshot { return nil }
func (l *commandLoad) Done() <-chan struct{}    { return l.done }
func (l *commandLoad) Pause()                   { l.run.Pause() }
func (l *commandLoad) Resume()                  { l.run.Resume() }

// Wait waits for the command; its figures are in result, not in a loadgen.Result.
func (l *commandLoad) Wait() loadgen.Result {
	<-l.done
	return loadgen.Result{}
}

// Err says why the command failed without figures: its exit and its last lines of
// standard error. A tool that printed its summary and then exited non-zero (Locust does
// when any request failed) keeps its figures; warnings say how it ended.
func (l *commandLoad) Err() error {
	l.Wait()
	if !l.outcome.Failed() || l.parsed {
		return nil
	}
	return errors.New(l.failure())
}

func (l *commandLoad) failure() string {
	msg := "the load command " + l.outcome.String()
	if tail := l.outcome.Stderr; len(tail) > 0 {
		msg += ": " + strings.Join(tail[max(0, len(tail)-3):], " | ")
	}
	return msg
}

// result is the lane's LoadResult from the tool's figures, nil when it printed none that
// allocscope reads (the views then say "n/a (external load)").
func (l *commandLoad) result() *record.LoadResult {
	if !l.parsed {
		return nil
	}
	f := l.figures
	return &record.LoadResult{
		Requests: f.Requests, Duration: f.Duration, ReqPerSec: f.ReqPerSec, Bytes: f.Bytes,
		P50: f.P50, P90: f.P90, P99: f.P99, P999: f.P999, Max: f.Max, Mean: f.Mean,
		Errors: f.Errors, Status: f.Status, Tool: f.Tool, NoPercentiles: !f.HasPercentiles,
	}
}

// warnings are what is odd about a command that left figures: it failed all the same, it
// ran out its deadline, or it ended well before its load phase would have.
func (l *commandLoad) warnings() []string {
	o := l.outcome
	switch {
	case o.Failed():
		return []string{l.failure() + "; its figures are kept"}
	case o.Stopped && l.ctx.Err() == nil:
		return []string{fmt.Sprintf("the load command was still running %s after its %s load phase: stopped (SIGTERM, then SIGKILL after %s)", l.grace, l.duration, external.KillAfter)}
	case !o.Stopped && o.Ran < l.duration/2:
		return []string{fmt.Sprintf("the load command ended after %s of its %s load phase: the lane had load for that long only", o.Ran.Round(time.Millisecond), l.duration)}
	}
	return nil
}

// validateExternalLoad checks --load-command against the built-in generator's request
// flags: the user's tool makes its own requests.
func (o Options) validateExternalLoad() error {
	if o.ExternalLoad == "" {
		return nil
	}
	if _, err := external.ParseTemplate(o.ExternalLoad); err != nil {
		return err
	}
	switch {
	case len(o.Mix) > 0:
		return errors.New("--load-command and --targets both set: the load command makes its own requests; put the mix in its tool (e.g. vegeta attack -targets FILE)")
	case o.Method != "" && o.Method != "GET", len(o.Headers) > 0, o.Body != "":
		return errors.New("--load-command with -m, -H or -b: the load command makes its own requests; give the method, headers and body to its tool")
	}
	return nil
}
