// Package experiment runs allocscope's experiment: it starts the targets, samples them,
// drives the load through phases (baseline, load, cooldown) and keeps the run record.
package experiment

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/remote"
	"github.com/allocscope/allocscope/servers"
)

// Scenarios map a name to a request path on the built-in server, each showing another side of an allocator.
var Scenarios = map[string]string{
	"hello":    "/",
	"churn":    "/alloc?count=500&size=128&order=fifo",
	"json":     "/json?items=100",
	"fragment": "/hold?bytes=16KiB&ms=2000",
	"large":    "/large?min=5MB&max=25MB&live=20",
}

// ScenarioNames lists the scenarios in a stable order.
func ScenarioNames() []string {
	var n []string
	for k := range Scenarios {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Defaults: the seed benchmark (autocannon -c 10000 -d 10, one sample a second).
const (
	DefaultConnections = 10000
	DefaultDuration    = 10 * time.Second
	DefaultInterval    = time.Second
	DefaultBaseline    = 2 * time.Second
	DefaultCooldown    = 5 * time.Second
)

// MaxThreads caps --threads: each tokio worker has a 2 MiB stack, and the server aborts
// when it cannot create them (100,000 did, after 5 s).
const MaxThreads = 1024

// CustomTarget is a --target NAME=CMD lane, or NAME=URL for a remote one.
type CustomTarget struct {
	Name    string
	Command string
}

// Remote says whether the target is a URL on another host rather than a command.
func (t CustomTarget) Remote() bool {
	return strings.HasPrefix(t.Command, "http://")
}

// Options is the plan as the user gave it.
type Options struct {
	Allocators []string
	// Lanes, when set, are the --allocators lanes one by one (Allocators holds their
	// allocators): each lane's name and the settings its server runs with.
	Lanes []servers.Lane
	// TargetLanes are the same for TargetAllocators.
	TargetLanes []servers.Lane
	// Preload runs the system build with each allocator LD_PRELOADed instead of linked builds.
	Preload bool
	Targets []CustomTarget
	// TargetAllocators, for custom targets, adds one lane per allocator preloaded.
	TargetAllocators []string
	Scenario         string
	Path             string
	Connections      int
	Pipelining       int
	Rate             float64
	// Engine is the load generator's I/O engine (loadgen.EngineAuto when empty).
	Engine     string
	Duration   time.Duration
	Interval   time.Duration
	Baseline   time.Duration
	Cooldown   time.Duration
	Sequential bool
	Runs       int
	Bind       string
	Threads    int
	// Self is the argv that runs allocscope itself, for load workers and guards.
	Self []string
	// SavePath is where the run record is saved as it goes and at the end.
	SavePath string
	Version  string
	// Limits are the machine's open-files and port limits the plan must fit; zero reads
	// this machine's.
	Limits loadgen.Limits
	// Sweep, when set, runs the plan once per value of one parameter (threads,
	// connections or scenario), into one record. The parameter's own field is ignored.
	Sweep *record.Sweep
	// MemoryFrom maps a remote target's name to its Prometheus memory source.
	MemoryFrom map[string]string
	// Offline validates the plan by itself, as the docs' examples are checked: no remote
	// memory source is read and no preloaded library looked for.
	Offline bool
	// SameServer lists groups of --target names that run one server (the user's own
	// builds, one service on several hosts): each group's lanes are compared with each
	// other, as the built-in server's are.
	SameServer [][]string
	// Cgroup runs each lane in a memory cgroup of its own, for the accounting.
	Cgroup bool
	// MemoryLimit is each lane's cgroup memory limit in bytes, 0 for none.
	MemoryLimit uint64
	// Fit searches each lane's smallest memory limit (record.FitPlan), in at most
	// FitTrials trials after an unlimited run.
	Fit       bool
	FitTrials int
	// Strict refuses a plan in which an allocator ignored or rejected a lane's setting.
	Strict bool
	// Purge adds a purge phase after the cooldown: every lane is asked to give memory
	// back (GET /purge), then measured for PurgeWait.
	Purge     bool
	PurgeWait time.Duration
	// AllowBusy compares the lanes even when other work kept the machine busy during the
	// run (record.Interference.AllowBusy).
	AllowBusy bool

	// Method, Headers and Body make each request (-m, -H, -b); with a Mix, Headers and
	// Body go to each of its requests that lacks its own.
	Method  string
	Headers map[string]string
	Body    string
	// Mix, when set, is the request mix read from TargetsFile (--targets): each request's
	// path and query go to each lane's address, instead of a scenario or a path.
	Mix         []loadgen.Request
	TargetsFile string
	// ExternalLoad, when set, is the user's own load command (run --load-command), run
	// once per lane instead of the built-in generator, its placeholders filled per lane
	// (external.Placeholders).
	ExternalLoad string
	// ExternalGrace is how long the load command may run past its load phase before it
	// is stopped (default external.DefaultGrace).
	ExternalGrace time.Duration
	// CPUs confines every lane's server to that many CPUs (a lane's +cpus=N wins), 0
	// for all of the machine's.
	CPUs int

	// Cycles repeats load and idle (run --cycles), Idle apart (0: the cooldown); with
	// Soak, the cycles go on until Soak has passed, at most Cycles of them (0: no bound).
	Cycles int
	Idle   time.Duration
	Soak   time.Duration
	// Shape is each load's rate steps (ParseShape; nil: the plan's rate throughout), and
	// ShapeSpec the --shape it was made of.
	Shape     []record.RateStep
	ShapeSpec string
}

// DefaultPurgeWait is how long the purge phase measures after asking.
const DefaultPurgeWait = 3 * time.Second

// Steps is the number of steps: the sweep's values, or 1.
func (o Options) Steps() int {
	if o.Sweep == nil {
		return 1
	}
	return len(o.Sweep.Values)
}

// AtStep is the plan of step k: the sweep's parameter set to its k-th value.
func (o Options) AtStep(k int) Options {
	if o.Sweep == nil || k >= len(o.Sweep.Values) {
		return o
	}
	v := o.Sweep.Values[k]
	switch o.Sweep.Parameter {
	case record.SweepThreads:
		o.Threads, _ = strconv.Atoi(v)
	case record.SweepConnections:
		o.Connections, _ = strconv.Atoi(v)
	case record.SweepScenario:
		o.Scenario, o.Path = v, ""
	}
	return o
}

// recordSweep is the sweep as the record keeps it, with a scenario sweep's paths.
func (o Options) recordSweep() *record.Sweep {
	if o.Sweep == nil {
		return nil
	}
	sw := &record.Sweep{Parameter: o.Sweep.Parameter, Values: append([]string(nil), o.Sweep.Values...)}
	if sw.Parameter == record.SweepScenario {
		for k := range sw.Values {
			sw.Paths = append(sw.Paths, o.AtStep(k).RequestPath())
		}
	}
	return sw
}

// Estimate is how long the whole plan takes, roughly: every step's runs with their
// phases, and a few seconds a run to start and stop the servers.
func (o Options) Estimate() time.Duration {
	purge := time.Duration(0)
	if o.Purge {
		purge = o.PurgeWait
	}
	cycle := o.Duration + o.Cooldown
	if o.Cycled() {
		n := max(o.Cycles, 1)
		if o.Soak > 0 {
			// Cycles start until the soak has passed: the last may run past it.
			n = int((o.Soak + o.Duration + o.CycleIdle() - 1) / (o.Duration + o.CycleIdle()))
			if o.Cycles > 0 {
				n = min(n, o.Cycles)
			}
		}
		cycle = time.Duration(n) * (o.Duration + o.CycleIdle())
	}
	perRun := o.Baseline + cycle + purge + 2*time.Second
	if o.Sequential {
		lanes := max(len(o.lanes()), 1)
		perRun = o.Baseline + time.Duration(lanes)*(cycle+purge) + 2*time.Second
	}
	if o.Fit {
		return time.Duration(1+o.FitTrials) * perRun
	}
	return time.Duration(o.Steps()*o.Runs) * perRun
}

// WithDefaults fills what the user left unset.
func (o Options) WithDefaults() Options {
	if len(o.Allocators) == 0 && len(o.Targets) == 0 {
		o.Allocators = servers.DefaultAllocators
	}
	if o.Scenario == "" && o.Path == "" && len(o.Mix) == 0 {
		o.Scenario = "hello"
	}
	if o.Connections == 0 {
		o.Connections = DefaultConnections
	}
	if o.Pipelining == 0 {
		o.Pipelining = 1
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Runs == 0 {
		o.Runs = 1
	}
	if o.Bind == "" {
		o.Bind = "127.0.0.1"
	}
	if o.Fit && o.FitTrials == 0 {
		o.FitTrials = record.DefaultFitTrials
	}
	if o.Purge && o.PurgeWait == 0 {
		o.PurgeWait = DefaultPurgeWait
	}
	return o
}

// RequestPath is the path the load requests.
func (o Options) RequestPath() string {
	if o.Path != "" {
		return o.Path
	}
	return Scenarios[o.Scenario]
}

// MaxLanes bounds the lanes of one plan: each is a server and a load worker running side
// by side on this machine, and a sweep of values ({1,2,4,8}) multiplies them quickly.
const MaxLanes = 32

// MaxPlanDuration bounds a plan's estimated duration: a plan longer than a day is a typo
// in a list of values, not an experiment.
const MaxPlanDuration = 24 * time.Hour

// Size is the plan in one phrase: its lanes, steps and runs, and about how long it takes.
func (o Options) Size() string {
	n := len(o.lanes())
	s := fmt.Sprintf("%d lane%s", n, map[bool]string{true: "s"}[n != 1])
	if o.Sweep != nil {
		s += fmt.Sprintf(" × %d steps of %s", o.Steps(), o.Sweep.Parameter)
	}
	if o.Runs > 1 {
		s += fmt.Sprintf(" × %d runs", o.Runs)
	}
	return s + ", about " + o.Estimate().Round(time.Second).String()
}

// Validate checks the plan before anything starts, every step of a sweep; each error is
// one line saying what to change.
func (o Options) Validate() error {
	if err := o.validateSameServer(); err != nil {
		return err
	}
	if err := o.validateCgroups(); err != nil {
		return err
	}
	if err := o.validateCycles(); err != nil {
		return err
	}
	if n := len(o.lanes()); n > MaxLanes {
		return fmt.Errorf("the plan has %d lanes (%s), more than the %d that run side by side here: list fewer values", n, o.Size(), MaxLanes)
	}
	// A soak says how long it runs: its own bound is MaxSoak.
	if o.Estimate() > MaxPlanDuration && o.Soak == 0 {
		return fmt.Errorf("the plan would take %s, more than %s: list fewer values, steps or runs", o.Size(), MaxPlanDuration)
	}
	if o.Sweep == nil {
		return o.validateStep()
	}
	if err := validateSweep(o.Sweep); err != nil {
		return err
	}
	for k := range o.Sweep.Values {
		if err := o.AtStep(k).validateStep(); err != nil {
			return fmt.Errorf("%s: %w", o.Sweep.Label(k), err)
		}
	}
	return nil
}

// MinMemoryLimit is the smallest --memory-limit taken: below it no server even loads.
const MinMemoryLimit = 1 << 20

func (o Options) validateCgroups() error {
	switch {
	case o.MemoryLimit > 0 && o.MemoryLimit < MinMemoryLimit:
		return &FieldError{Field: FieldMemoryLimit, Value: fmt.Sprintf("%d bytes", o.MemoryLimit), Reason: "below 1 MiB, less than any server needs to start: give a size like 256MiB"}
	case o.Fit && o.MemoryLimit > 0:
		return &FieldError{Field: FieldFit, Reason: "searches the memory limit itself", Drop: []Field{FieldMemoryLimit}}
	case o.Fit && (o.Runs > 1 || o.Sweep != nil):
		return &FieldError{Field: FieldFit, Reason: "runs its own series of trials", Drop: []Field{FieldRuns, FieldSweep}}
	case o.Fit && (o.FitTrials < 1 || o.FitTrials > 30):
		return &FieldError{Field: FieldFitTrials, Value: o.FitTrials, Reason: "use 1 to 30"}
	case o.Fit && o.Sequential:
		return &FieldError{Field: FieldFit, Reason: "searches the lanes side by side", Drop: []Field{FieldSequential}}
	}
	return nil
}

func validateSweep(sw *record.Sweep) error {
	switch sw.Parameter {
	case record.SweepThreads, record.SweepConnections, record.SweepScenario:
	default:
		return fmt.Errorf("cannot sweep %q: sweep threads, connections or scenario", sw.Parameter)
	}
	if len(sw.Values) < 2 {
		return fmt.Errorf("a sweep of %s needs at least two values, got %q", sw.Parameter, strings.Join(sw.Values, ","))
	}
	seen := map[string]bool{}
	for _, v := range sw.Values {
		if seen[v] {
			return fmt.Errorf("%s %s is listed twice in the sweep: list each value once", sw.Parameter, v)
		}
		seen[v] = true
		if sw.Parameter != record.SweepScenario {
			if _, err := strconv.Atoi(v); err != nil {
				return fmt.Errorf("%s %q is not a whole number", sw.Parameter, v)
			}
		}
	}
	return nil
}

func (o Options) validateStep() error {
	if o.Scenario != "" && o.Path != "" {
		return &FieldError{Field: FieldScenario, Also: []Field{FieldPath}, Reason: "choose one"}
	}
	if o.Scenario != "" {
		if _, ok := Scenarios[o.Scenario]; !ok {
			return fmt.Errorf("unknown scenario %q: choose from %s", o.Scenario, strings.Join(ScenarioNames(), ", "))
		}
	}
	if len(o.Mix) > 0 && (o.Scenario != "" || o.Path != "") {
		return &FieldError{Field: FieldMix, Also: []Field{FieldScenario, FieldPath}, Reason: "the targets file names the requests, choose one"}
	}
	if err := (loadgen.Config{URL: "http://127.0.0.1/", Method: o.Method, Headers: o.Headers, Mix: o.Mix}).Validate(); err != nil {
		return err
	}
	if err := o.validateExternalLoad(); err != nil {
		return err
	}
	if o.Path != "" && !strings.HasPrefix(o.Path, "/") {
		return &FieldError{Field: FieldPath, Value: o.Path, Reason: "must start with /"}
	}
	for _, a := range append(append([]string(nil), o.Allocators...), o.TargetAllocators...) {
		alloc, err := servers.LookupAllocator(a)
		if err != nil {
			return err
		}
		if why := alloc.Missing(); alloc.PreloadOnly && why != "" && !o.Offline {
			return fmt.Errorf("cannot run %s: %s", alloc.Name, why)
		}
	}
	for _, l := range o.TargetLanes {
		if l.Arena {
			return fmt.Errorf("lane %s: +arena is a mode of the built-in server; a --target command has none: drop +arena from --target-allocators", l.Name)
		}
	}
	// A variable the allocator does not read is known before anything starts; what the
	// allocator makes of a value is checked once it runs (checkSettings).
	if o.Strict {
		for _, l := range append(append([]servers.Lane(nil), o.Lanes...), o.TargetLanes...) {
			if issues := servers.CheckSettings(servers.Family(l.Allocator), l.Settings, nil, nil); l.Library == "" && len(issues) > 0 {
				return fmt.Errorf("%w by --strict: lane %s: %s (fix the setting, or drop --strict to run it anyway)", ErrRefused, l.Name, strings.Join(issues, "; "))
			}
		}
	}
	for _, l := range o.lanes() {
		if l.cpus == 0 {
			continue
		}
		if l.kind == record.KindRemote {
			return fmt.Errorf("--cpus confines a process started here: remote target %s cannot take it", l.name)
		}
		if err := servers.CheckCPUs(l.cpus); err != nil {
			return fmt.Errorf("lane %s: %w", l.name, err)
		}
	}
	if o.Purge && o.PurgeWait <= 0 {
		return &FieldError{Field: FieldPurgeWait, Reason: "must be above 0 (e.g. 3s)"}
	}
	seen := map[string]bool{}
	for _, t := range o.Targets {
		if t.Name == "" || strings.TrimSpace(t.Command) == "" {
			return fmt.Errorf("--target needs NAME=COMMAND, e.g. --target nginx='nginx -c /tmp/nginx.conf -g \"daemon off;\"' (with {port} where the port goes)")
		}
		if seen[t.Name] {
			return fmt.Errorf("target name %q is used twice", t.Name)
		}
		seen[t.Name] = true
	}
	// Two lanes of one name would be told apart only by the #1, #2 of the A/A test,
	// which would pass a target off as a repeat of the allocator lane.
	for _, l := range o.allocatorLanes() {
		if seen[l.name] {
			return fmt.Errorf("--target %s has the name of an --allocators lane: give the target another name", l.name)
		}
	}
	if err := o.validateRemotes(); err != nil {
		return err
	}
	switch {
	case o.Connections < 1:
		return &FieldError{Field: FieldConnections, Value: o.Connections, Reason: "connections must be at least 1"}
	case o.Pipelining < 1 || o.Pipelining > 1024:
		return &FieldError{Field: FieldPipelining, Value: o.Pipelining, Reason: "pipelining must be 1 to 1024"}
	case o.Rate < 0:
		return &FieldError{Field: FieldRate, Value: o.Rate, Reason: "the rate must be positive"}
	case !loadgen.KnownEngine(o.Engine):
		return &FieldError{Field: FieldEngine, Value: o.Engine, Reason: "use auto, epoll or io_uring"}
	case o.Duration <= 0 || o.Duration > loadgen.MaxDuration:
		return &FieldError{Field: FieldDuration, Value: o.Duration, Reason: fmt.Sprintf("the duration must be above 0 and at most %s", loadgen.MaxDuration)}
	case o.Interval < 50*time.Millisecond || o.Interval > time.Minute:
		return &FieldError{Field: FieldInterval, Value: o.Interval, Reason: "use 50ms to 1m"}
	case o.Baseline < 0:
		return &FieldError{Field: FieldBaseline, Value: o.Baseline, Reason: "cannot be negative"}
	case o.Cooldown < 0:
		return &FieldError{Field: FieldCooldown, Value: o.Cooldown, Reason: "cannot be negative"}
	case o.Runs < 1 || o.Runs > 100:
		return &FieldError{Field: FieldRuns, Value: o.Runs, Reason: "use 1 to 100"}
	case o.Threads < 0 || o.Threads > MaxThreads:
		return &FieldError{Field: FieldThreads, Value: o.Threads, Reason: fmt.Sprintf("use 1 to %d server threads", MaxThreads)}
	case net.ParseIP(o.Bind) == nil:
		return &FieldError{Field: FieldBind, Reason: fmt.Sprintf("%q is not an IP address: use 127.0.0.1 (the default), ::1, or 0.0.0.0 for every interface", o.Bind)}
	}
	// Each load worker is its own process, so each target only needs its own connections
	// to fit one process's open files; a server needs the same number to accept them.
	limits := o.Limits
	if limits == (loadgen.Limits{}) {
		limits = loadgen.CurrentLimits()
	}
	if err := loadgen.CheckPlan(limits, loadgen.Config{URL: "each target", Connections: o.Connections}); err != nil {
		return err
	}
	return nil
}

// validateRemotes checks that each remote target has a memory source that answers with
// one series, and that each source names a remote target; each error is one line.
func (o Options) validateRemotes() error {
	remotes := map[string]bool{}
	for _, t := range o.Targets {
		if t.Remote() {
			remotes[t.Name] = true
			if _, ok := o.MemoryFrom[t.Name]; !ok {
				return fmt.Errorf("--target %s=%s is remote: say where its memory is read with --memory-from %s=prom+http://HOST:PORT/metrics?groupname=NAME", t.Name, t.Command, t.Name)
			}
			if len(o.TargetAllocators) > 0 {
				return fmt.Errorf("--target-allocators preloads allocators into commands started here: remote target %s cannot take them", t.Name)
			}
		}
	}
	for name, spec := range o.MemoryFrom {
		if !remotes[name] {
			return fmt.Errorf("--memory-from %s=…: no remote target %s (give it with --target %s=http://HOST:PORT/)", name, name, name)
		}
		src, err := remote.Parse(spec)
		if err != nil {
			return err
		}
		if o.Offline {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = src.Read(ctx)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// lane is one target to run: a server build, a preloaded build, or a command.
type lane struct {
	name      string
	allocator string
	kind      record.TargetKind
	command   string   // custom command
	preload   string   // allocator name to preload
	url       string   // a remote target's URL
	memory    string   // a remote target's memory source
	env       []string // the lane's allocator settings, VAR=VALUE
	library   string   // a shared library preloaded as the allocator (a path)
	arena     bool     // the built-in server's per-request bump arena mode
	group     string   // the --same-server group the lane's target is in
	cpus      int      // CPUs the server is confined to, 0 for all
}

// allocatorLanes are the lanes of --allocators, named as given (before numberRepeats).
func (o Options) allocatorLanes() []lane {
	var out []lane
	for i, a := range o.Allocators {
		name, env, arena, cpus := a, []string(nil), false, o.CPUs
		if i < len(o.Lanes) {
			name, env, arena = o.Lanes[i].Name, o.Lanes[i].Settings, o.Lanes[i].Arena
			if o.Lanes[i].CPUs > 0 {
				cpus = o.Lanes[i].CPUs
			}
			if lib := o.Lanes[i].Library; lib != "" {
				out = append(out, lane{name: name, allocator: filepath.Base(lib), kind: record.KindPreload, env: env, library: lib, arena: arena, cpus: cpus})
				continue
			}
		}
		alloc, _ := servers.LookupAllocator(a)
		if o.Preload || alloc.PreloadOnly {
			if a != "system" && name == a && !alloc.PreloadOnly {
				name = a + "-preload"
			}
			l := lane{name: name, allocator: a, kind: record.KindPreload, env: env, arena: arena, cpus: cpus}
			if a != "system" {
				l.preload = a
			}
			out = append(out, l)
			continue
		}
		out = append(out, lane{name: name, allocator: a, kind: record.KindBuiltin, env: env, arena: arena, cpus: cpus})
	}
	return out
}

func (o Options) lanes() []lane {
	out := o.allocatorLanes()
	for _, t := range o.Targets {
		if t.Remote() {
			out = append(out, lane{name: t.Name, kind: record.KindRemote, url: t.Command, memory: o.MemoryFrom[t.Name], group: o.sameServerGroup(t.Name)})
			continue
		}
		if len(o.TargetAllocators) == 0 {
			out = append(out, lane{name: t.Name, kind: record.KindCommand, command: t.Command, group: o.sameServerGroup(t.Name), cpus: o.CPUs})
			continue
		}
		for i, a := range o.TargetAllocators {
			name, env := a, []string(nil)
			lib := ""
			if i < len(o.TargetLanes) {
				name, env, lib = o.TargetLanes[i].Name, o.TargetLanes[i].Settings, o.TargetLanes[i].Library
			}
			l := lane{name: t.Name + "+" + name, allocator: a, kind: record.KindCommand, command: t.Command, env: env, library: lib, group: o.sameServerGroup(t.Name), cpus: o.CPUs}
			if i < len(o.TargetLanes) && o.TargetLanes[i].CPUs > 0 {
				l.cpus = o.TargetLanes[i].CPUs
			}
			if lib != "" {
				l.allocator = filepath.Base(lib)
			}
			if a != "system" && lib == "" {
				l.preload = a
			}
			out = append(out, l)
		}
	}
	numberRepeats(out)
	return out
}

// numberRepeats names the lanes of an allocator listed more than once (the A/A test)
// system#1, system#2, …
func numberRepeats(ls []lane) {
	count, seen := map[string]int{}, map[string]int{}
	for _, l := range ls {
		count[l.name]++
	}
	for i, l := range ls {
		if count[l.name] > 1 {
			seen[l.name]++
			ls[i].name = fmt.Sprintf("%s#%d", l.name, seen[l.name])
		}
	}
}

// LoadCommand is the equivalent `allocscope load` command line for one target, or the
// user's own load command.
func (o Options) LoadCommand() string {
	if o.ExternalLoad != "" {
		return o.ExternalLoad
	}
	cmd := fmt.Sprintf("allocscope load -c %d -d %s", o.Connections, trimDuration(o.Duration))
	if o.Pipelining > 1 {
		cmd += fmt.Sprintf(" -p %d", o.Pipelining)
	}
	if o.Rate > 0 {
		cmd += fmt.Sprintf(" -R %g", o.Rate)
	}
	if o.Engine != "" && o.Engine != loadgen.EngineAuto {
		cmd += " --engine " + o.Engine
	}
	if o.Method != "" && o.Method != "GET" && len(o.Mix) == 0 {
		cmd += " -m " + o.Method
	}
	for _, k := range sortedKeys(o.Headers) {
		cmd += " -H " + shellQuote(k+": "+o.Headers[k])
	}
	if o.Body != "" {
		cmd += " -b " + shellQuote(o.Body)
	}
	if len(o.Mix) > 0 {
		return cmd + " --targets " + shellQuote(o.TargetsFile) + " 'http://" + o.Bind + ":PORT/'"
	}
	return cmd + " 'http://" + o.Bind + ":PORT" + o.RequestPath() + "'"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// shellQuote makes s one word for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func trimDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprint(int(d / time.Second))
	}
	return d.String()
}

// sameServerGroup names the --same-server group target is in, or "".
func (o Options) sameServerGroup(target string) string {
	for _, g := range o.SameServer {
		if slices.Contains(g, target) {
			return strings.Join(g, ",")
		}
	}
	return ""
}

// validateSameServer checks that each --same-server group names two or more --target
// lanes, each in one group only.
func (o Options) validateSameServer() error {
	targets := map[string]bool{}
	for _, t := range o.Targets {
		targets[t.Name] = true
	}
	in := map[string]bool{}
	for _, g := range o.SameServer {
		if len(g) < 2 {
			return fmt.Errorf("--same-server %s: name two or more --target lanes that run one server, e.g. --same-server a,b", strings.Join(g, ","))
		}
		for _, name := range g {
			switch {
			case !targets[name]:
				return fmt.Errorf("--same-server %s: %q is not a --target (the built-in server's lanes are compared with each other already)", strings.Join(g, ","), name)
			case in[name]:
				return fmt.Errorf("--same-server: %s is in two groups: give each target once", name)
			}
			in[name] = true
		}
	}
	return nil
}
