package main

import (
	"encoding/json"
	"fmt"
	neturl "net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/units"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// durationFlag takes autocannon's plain seconds ("10") or a Go duration ("1m30s").
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Type() string { return "duration" }

func (f durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if secs < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: use seconds (10) or a unit (500ms, 1m)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// headerFlag collects repeated -H "Name: value".
type headerFlag map[string]string

func (h headerFlag) String() string { return "" }
func (h headerFlag) Type() string   { return "value" }
func (h headerFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("header %q must look like 'Name: value'", s)
	}
	h[strings.TrimSpace(k)] = strings.TrimSpace(v)
	return nil
}

// loadFlags registers the load generator's flags, named like autocannon's: its letters
// and its long names, so its command lines work unchanged.
func loadFlags(fs *pflag.FlagSet, c *loadgen.Config, targets *string) {
	fs.IntVarP(&c.Connections, "connections", "c", loadgen.DefaultConnections, "concurrent connections")
	c.Duration = loadgen.DefaultDuration
	fs.VarP(durationFlag{&c.Duration}, "duration", "d", "duration: seconds or a Go duration (10, 1m)")
	fs.Uint64VarP(&c.Amount, "amount", "a", 0, "stop after this many responses instead of a duration")
	fs.IntVarP(&c.Pipelining, "pipelining", "p", loadgen.DefaultPipelining, "requests in flight per connection (pipelining)")
	fs.Float64VarP(&c.Rate, "overallRate", "R", 0, "open loop: total requests per second (latency corrected for coordinated omission)")
	fs.VarP(durationFlag{&c.Warmup}, "warmup", "W", "warmup left out of the results, within the duration")
	fs.IntVarP(&c.Workers, "workers", "w", 0, "event loops, each on its own thread (0: one per core)")
	fs.StringVar(&c.Engine, "engine", loadgen.EngineAuto, "I/O: auto (io_uring where the kernel allows it, else epoll), epoll or io_uring")
	c.Timeout = loadgen.DefaultTimeout
	fs.VarP(durationFlag{&c.Timeout}, "timeout", "t", "response timeout")
	requestFlags(fs, c, targets)
}

// requestFlags defines what each request is: -m, -H, -b, or --targets for a mix. load
// and run share them.
func requestFlags(fs *pflag.FlagSet, c *loadgen.Config, targets *string) {
	fs.StringVarP(&c.Method, "method", "m", "GET", "HTTP method")
	fs.StringVarP(&c.Body, "body", "b", "", "request body (with --targets: for the targets that have none)")
	c.Headers = map[string]string{}
	fs.VarP(headerFlag(c.Headers), "headers", "H", "request header 'Name: value' (repeatable; with --targets: added to every target)")
	fs.StringVar(targets, "targets", "", "a request mix: FILE in vegeta's http format (METHOD URL, headers, @body, a blank line; '# weight: N' under a target), sent in turn on each connection")
}

// readMix reads --targets, refusing -m beside it: each target names its own method.
func readMix(fs *pflag.FlagSet, targets string) ([]loadgen.Request, error) {
	if targets == "" {
		return nil, nil
	}
	if flagSet(fs, "method") {
		return nil, usagef("-m and --targets both set: each target in %s names its own method", targets)
	}
	if dryRun {
		return nil, nil
	}
	mix, err := loadgen.ReadTargets(targets)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return mix, nil
}

func newLoadCmd() *cobra.Command {
	fs := newFlags("load")
	cfg := &loadgen.Config{}
	targets := new(string)
	loadFlags(fs, cfg, targets)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	// Flags may follow the URL, as with autocannon.
	c := checksDryRun(command("load URL [-c N] [-d SECONDS] [-a N] [-p N] [-R RATE] [-H 'K: V'] [-m METHOD] [-b BODY] [--targets FILE] [--json]",
		"the load generator on its own", fs, noArgs, func(args []string) error { return cmdLoad(fs, *cfg, *targets, *asJSON, args) }))
	c.RegisterFlagCompletionFunc("engine", words(loadgen.EngineAuto, loadgen.EngineEpoll, loadgen.EngineUring))
	return c
}

func cmdLoad(fs *pflag.FlagSet, cfg loadgen.Config, targets string, asJSON bool, args []string) error {
	var url string
	if len(args) > 0 {
		url = args[0]
	}
	if dryRun {
		return checkLoadPlan(fs, cfg, targets, args)
	}
	mix, err := readMix(fs, targets)
	if err != nil {
		return err
	}
	if url == "" && len(mix) > 0 {
		if url, err = mixAddress(targets, mix); err != nil {
			return err
		}
	}
	if url == "" {
		return usagef("load needs a URL, e.g. allocscope load http://127.0.0.1:3000/ -c 100 -d 10")
	}
	cfg.URL, cfg.Mix = url, mix
	if flagSet(fs, "duration") && cfg.Duration <= 0 {
		return usagef("-d %s: the duration must be above 0", cfg.Duration)
	}
	if err := atLeastOne(map[string]int{"-c (connections)": cfg.Connections, "-p (pipelining)": cfg.Pipelining}); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	ctx, stop := onSignals()
	defer stop()
	g, err := loadgen.Start(ctx, cfg)
	if err != nil {
		return err
	}
	cfg = g.Config()
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	engine, uringErr := g.Engine()
	if uringErr != nil {
		engine += fmt.Sprintf(" (io_uring: %v)", uringErr)
	}
	mode := "closed loop"
	if cfg.Rate > 0 {
		mode = fmt.Sprintf("open loop at %g req/s", cfg.Rate)
	}
	target := cfg.URL
	if len(cfg.Mix) > 0 {
		target = fmt.Sprintf("%s, a mix of %d requests from %s", cfg.URL, len(cfg.Mix), targets)
	}
	fmt.Fprintf(os.Stderr, "Running %s test @ %s\n%d connections, pipelining %d, %s, %s\n\n", cfg.Duration, target, cfg.Connections, cfg.Pipelining, mode, engine)
	var done uint64
	for s := range g.Snapshots() {
		done += s.Requests
		if tty {
			frac := float64(s.Second) / cfg.Duration.Seconds()
			fmt.Fprintf(os.Stderr, "\r%s %3d%%  %ds  %s req/s  %d conns  %d errors ", bar(frac, 30), int(100*min(frac, 1)), s.Second, units.SI(float64(s.Requests)), s.Connections, s.Errors.Total())
		}
	}
	if tty {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
	res := g.Wait()
	if asJSON {
		res.Histogram = nil
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
		return ctx.interrupted()
	}
	loadgen.WriteText(os.Stdout, res)
	return ctx.interrupted()
}

// mixAddress is where a mix given without a URL goes: the one address all its targets
// name, since one load test drives one address.
func mixAddress(file string, mix []loadgen.Request) (string, error) {
	first, err := neturl.Parse(mix[0].URL)
	if err != nil {
		return "", usagef("%s: %v", file, err)
	}
	for _, r := range mix[1:] {
		if u, err := neturl.Parse(r.URL); err == nil && u.Host != first.Host {
			return "", usagef("%s: its targets name %s and %s: give the URL all its requests go to (allocscope load http://HOST:PORT --targets %s)", file, first.Host, u.Host, file)
		}
	}
	return "http://" + first.Host + "/", nil
}

func bar(frac float64, width int) string {
	frac = max(0, min(frac, 1))
	n := int(frac * float64(width))
	return "[" + strings.Repeat("█", n) + strings.Repeat("░", width-n) + "]"
}

// atLeastOne refuses explicit zeroes, which the libraries would read as "use the default".
func atLeastOne(values map[string]int) error {
	for name, v := range values {
		if v < 1 {
			return usagef("%s must be at least 1 (got %d)", name, v)
		}
	}
	return nil
}
