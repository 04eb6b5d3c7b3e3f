// Package record is the run record: the single source of truth of an experiment, written
// as versioned JSON, read by the TUI and the reports. It imports nothing of allocscope's.
package record

import (
	"fmt"
	"time"

	"github.com/allocscope/allocscope/units"
)

// SchemaVersion is the version of the JSON this package writes. Readers refuse newer ones.
const SchemaVersion = 1

// Record is one experiment: its plan, where it ran, and everything measured.
type Record struct {
	Schema  int       `json:"schema"`
	Tool    Tool      `json:"tool"`
	Machine Machine   `json:"machine"`
	Plan    Plan      `json:"plan"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	// State is running, done, interrupted or failed.
	State   string   `json:"state"`
	Targets []Target `json:"targets"`
	Events  []Event  `json:"events,omitempty"`
	// Interference is how much of the machine's CPU other work took during the run;
	// nil in records made before it was measured, and by watch.
	Interference *Interference `json:"interference,omitempty"`
	// Journal, in a record still being written, names the journal that holds its series
	// (journal.go); Load reads it in and clears it. Nil in every finished record.
	Journal *JournalRef `json:"journal,omitempty"`
}

// TargetKind says what a target is.
type TargetKind string

// Target kinds.
const (
	// KindBuiltin is the Rust server built with the allocator.
	KindBuiltin TargetKind = "builtin"
	// KindPreload is the system build with the allocator LD_PRELOADed.
	KindPreload TargetKind = "preload"
	// KindCommand is a --target command, measured as a process tree.
	KindCommand TargetKind = "command"
	// KindProcess is a running process that `watch` samples.
	KindProcess TargetKind = "process"
	// KindRemote is a URL on another host: loaded from here, its memory read from a
	// Prometheus source (MemoryFrom).
	KindRemote TargetKind = "remote"
)

// ScenarioWatch is the plan's scenario in a record made by `watch`: no load was sent.
const ScenarioWatch = "watch"

// Run states.
const (
	StateRunning     = "running"
	StateDone        = "done"
	StateInterrupted = "interrupted"
	StateFailed      = "failed"
)

// Tool names the software that made the record.
type Tool struct {
	Version   string            `json:"version"`
	GoVersion string            `json:"go_version"`
	Versions  map[string]string `json:"versions,omitempty"` // rustc, cargo, libraries
}

// Machine is the seed's System section.
type Machine struct {
	OS             string `json:"os"`
	Kernel         string `json:"kernel"`
	Arch           string `json:"arch"`
	CPUModel       string `json:"cpu_model"`
	Cores          int    `json:"cores"`
	MemoryBytes    uint64 `json:"memory_bytes"`
	Virtualization string `json:"virtualization"`
	OpenFilesLimit uint64 `json:"open_files_limit"`
	// Memory settings that shape allocators' figures: transparent huge pages (the
	// bracketed choice of /sys/kernel/mm/transparent_hugepage/{enabled,defrag}) and
	// vm.overcommit_memory.
	THP            string `json:"thp,omitempty"`
	THPDefrag      string `json:"thp_defrag,omitempty"`
	OvercommitMode string `json:"overcommit_memory,omitempty"`
}

// Plan is what was asked for.
type Plan struct {
	Allocators  []string      `json:"allocators"`
	Scenario    string        `json:"scenario"`
	Path        string        `json:"path"`
	Connections int           `json:"connections"`
	Pipelining  int           `json:"pipelining"`
	Rate        float64       `json:"rate,omitempty"`
	Duration    time.Duration `json:"duration_ns"`
	Baseline    time.Duration `json:"baseline_ns"`
	Cooldown    time.Duration `json:"cooldown_ns"`
	Interval    time.Duration `json:"interval_ns"`
	Sequential  bool          `json:"sequential,omitempty"`
	Runs        int           `json:"runs"`
	// LoadCommand is the equivalent command line, for the report's "Load test" section;
	// with ExternalLoad, the user's own command as given to run --load-command.
	LoadCommand string `json:"load_command"`
	// ExternalLoad: each lane was loaded by LoadCommand, the user's own tool, not by the
	// built-in generator; a lane's load figures are what the tool printed, if anything.
	ExternalLoad bool `json:"external_load,omitempty"`
	// Method is each request's method when it is not GET and there is no mix.
	Method string `json:"method,omitempty"`
	// Mix is the request mix (run --targets), in the file's order; Path is then empty.
	Mix []MixRequest `json:"mix,omitempty"`
	// Sweep, when set, is the parameter that took one value per step of this record.
	Sweep *Sweep `json:"sweep,omitempty"`
	// Cgroup is the cgroup version ("v1" or "v2") each target ran in its own memory
	// cgroup of, "" when they did not (--cgroup, --memory-limit, --fit).
	Cgroup string `json:"cgroup,omitempty"`
	// MemoryLimitBytes is --memory-limit: every target's cgroup limit, 0 for none.
	MemoryLimitBytes uint64 `json:"memory_limit_bytes,omitempty"`
	// Fit, when set, says the record holds a --fit search: run step 0 is unlimited, each
	// later step a trial at a per-target limit (TargetRun.Cgroup.LimitBytes).
	Fit *FitPlan `json:"fit,omitempty"`
	// Cycles, Idle and Soak are run --cycles, --idle and --soak: loads repeated with an
	// idle after each, Cycles of them at most (0: no bound but Soak), until Soak passed.
	// All 0 for a run of one load.
	Cycles int           `json:"cycles,omitempty"`
	Idle   time.Duration `json:"idle_ns,omitempty"`
	Soak   time.Duration `json:"soak_ns,omitempty"`
	// Shape is --shape as given, and Steps the rates it makes of each load, in order.
	Shape string     `json:"shape,omitempty"`
	Steps []RateStep `json:"steps,omitempty"`
}

// RateStep is a stretch of a load at one rate (req/s per target; 0: as fast as the
// connections go).
type RateStep struct {
	Rate     float64       `json:"rate"`
	Duration time.Duration `json:"duration_ns"`
}

// MixRequest is one request of a mix: its method, its URL as the targets file wrote it
// (only the path and query were sent, to each target's address) and its weight.
type MixRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Weight int    `json:"weight"`
}

// Sweep is one parameter that took several values, one step each, in one record.
type Sweep struct {
	// Parameter is threads, connections or scenario.
	Parameter string   `json:"parameter"`
	Values    []string `json:"values"`
	// Paths are the request paths of a scenario sweep's steps.
	Paths []string `json:"paths,omitempty"`
}

// Sweep parameters.
const (
	SweepThreads     = "threads"
	SweepConnections = "connections"
	SweepScenario    = "scenario"
)

// Label names step k of a sweep, as "threads=8".
func (s *Sweep) Label(k int) string {
	if s == nil || k < 0 || k >= len(s.Values) {
		return ""
	}
	return s.Parameter + "=" + s.Values[k]
}

// Target is one server under test.
type Target struct {
	Name string `json:"name"`
	// Allocator is the allocator serving malloc (linked or preloaded); "" when unknown.
	Allocator   string     `json:"allocator"`
	Kind        TargetKind `json:"kind"`
	Command     []string   `json:"command,omitempty"`
	Binary      string     `json:"binary,omitempty"`
	BinaryBytes int64      `json:"binary_bytes,omitempty"`
	Preload     string     `json:"preload,omitempty"`
	// URL and MemoryFrom describe a remote target: what is loaded, and where its memory
	// is read (prom+http://… or promql+http://…).
	URL        string `json:"url,omitempty"`
	MemoryFrom string `json:"memory_from,omitempty"`
	// Group names the lanes the user said run one server (--same-server): they are
	// compared with each other although their commands or hosts differ.
	Group string `json:"group,omitempty"`
	// Env holds the allocator settings the target ran with (MALLOC_*, MALLOC_CONF, …).
	Env map[string]string `json:"env"`
	// Settings are what the allocator reports running with (the built-in server's
	// /stats, read back from the allocator): the proof that Env took effect.
	Settings map[string]string `json:"settings,omitempty"`
	// SettingIssues name each setting the allocator ignored or rejected.
	SettingIssues []string `json:"setting_issues,omitempty"`
	// SettingsUnchecked name the settings with no issue whose effect the allocator could
	// not show (glibc has no getter for most): not checked, rather than taken effect.
	SettingsUnchecked []string `json:"settings_unchecked,omitempty"`
	// CPUs is the number of CPUs the target was confined to (--cpus, +cpus=N), 0 for
	// the whole machine's.
	CPUs int `json:"cpus,omitempty"`
	// Proof is what /proc showed of a preloaded or --target lane's processes: the library
	// mapped in each (/proc/PID/maps), each setting in their environment
	// (/proc/PID/environ), glibc's arena count. A failed check is a SettingIssue.
	Proof []string `json:"proof,omitempty"`
	// Mode is "arena" when the built-in server allocated per-request data from a bump arena.
	Mode string `json:"mode,omitempty"`
	// Runs holds one entry per repetition (--runs).
	Runs []TargetRun `json:"runs"`
	// FitTrials are a --fit search's trials, each a run under a memory limit; Runs holds
	// the unlimited run they are measured against.
	FitTrials []TargetRun `json:"fit_trials,omitempty"`
}

// TargetRun is everything measured about one target in one repetition.
type TargetRun struct {
	PID  int    `json:"pid"`
	Addr string `json:"addr"`
	// Step is the sweep step the run belongs to (0 outside a sweep).
	Step int `json:"step,omitempty"`
	// Phases are the target's own boundaries: with --sequential they differ per target.
	Phases Phases `json:"phases"`
	// Cycles are the load-and-idle repetitions of `run --cycles` and `--soak`, in order;
	// nil for a run of one load. Phases spans them all: LoadStart is the first cycle's,
	// LoadEnd the last cycle's, CooldownEnd the last idle's end.
	Cycles  []Cycle     `json:"cycles,omitempty"`
	Samples []Sample    `json:"samples"`
	Heap    []HeapStats `json:"heap,omitempty"`
	Load    []LoadTick  `json:"load,omitempty"`
	Result  *LoadResult `json:"result,omitempty"`
	// Client is the load generator's own process: whether the client was the limit.
	Client []Sample `json:"client,omitempty"`
	Exit   *Exit    `json:"exit,omitempty"`
	// LoadError says why the load against this target ended without a result (its load
	// worker was killed or crashed): its figures under load are incomplete.
	LoadError string `json:"load_error,omitempty"`
	// Interrupted says the run was stopped (Ctrl-C, SIGTERM, q) before its phases ran
	// their course: its figures are partial, and a --fit trial proves nothing.
	Interrupted bool `json:"interrupted,omitempty"`
	// SourceError says why a remote target's memory source stopped answering mid-run.
	SourceError string `json:"source_error,omitempty"`
	// Peaks are the RSS high-water marks per phase (baseline, load, cooldown, or watch).
	Peaks map[Phase]PeakRSS `json:"peaks,omitempty"`
	// Cgroup is what the kernel accounted to the target's own memory cgroup.
	Cgroup *CgroupRun `json:"cgroup,omitempty"`
	// Purges are the times the allocator was asked to give memory back.
	Purges []Purge `json:"purges,omitempty"`
}

// Purge is one request to the allocator to give back what it can (GET /purge).
type Purge struct {
	T time.Duration `json:"t_ns"`
	// Call is what the server called (malloc_trim(0), mi_collect(true), …).
	Call  string `json:"call,omitempty"`
	Error string `json:"error,omitempty"`
	// RSSBeforeBytes is the last RSS sample before the purge.
	RSSBeforeBytes uint64 `json:"rss_before_bytes,omitempty"`
}

// CgroupRun is a target's memory cgroup in one run: its limit, peak and events.
type CgroupRun struct {
	Path       string `json:"path"`
	LimitBytes uint64 `json:"limit_bytes,omitempty"`
	// PeakBytes is the kernel's high-water mark of the cgroup's usage over the run (v2
	// memory.peak, v1 memory.max_usage_in_bytes); PeakExact is false where the kernel
	// keeps none and it is the largest sample.
	PeakBytes uint64 `json:"peak_bytes"`
	PeakExact bool   `json:"peak_exact"`
	// IdleBytes is the usage at the end of the baseline, before any load.
	IdleBytes uint64       `json:"idle_bytes,omitempty"`
	Events    CgroupEvents `json:"events"`
	// WorkingSetPeakBytes is the largest sampled working set (usage less inactive page
	// cache, as the kubelet computes it): sampled, since the kernel keeps no peak of it,
	// so a lower bound off by what the samples missed.
	WorkingSetPeakBytes uint64 `json:"working_set_peak_bytes,omitempty"`
}

// CgroupEvents count what the limit did (v2 memory.events; v1 memory.failcnt as Max and
// memory.oom_control's oom_kill).
type CgroupEvents struct {
	High    uint64 `json:"high,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	OOM     uint64 `json:"oom,omitempty"`
	OOMKill uint64 `json:"oom_kill,omitempty"`
}

// PeakSource says where a phase's peak comes from.
type PeakSource string

// Where a phase's peak comes from.
const (
	// PeakKernel is VmHWM, reset when the phase started: exact.
	PeakKernel PeakSource = "kernel"
	// PeakKernelSinceStart is VmHWM since the process started (the reset was refused),
	// taken with the sampled maximum: exact when this phase holds the lifetime peak.
	PeakKernelSinceStart PeakSource = "kernel-since-start"
	// PeakSampled is the largest sampled RSS: a lower bound, off by what the samples missed.
	PeakSampled PeakSource = "sampled"
)

// PeakRSS is the most RSS a target had in one phase.
type PeakRSS struct {
	Bytes  uint64     `json:"bytes"`
	Source PeakSource `json:"source"`
	// UpperBound is set for a process tree: the sum of its members' peaks, which need
	// not have happened at the same moment.
	UpperBound bool `json:"upper_bound,omitempty"`
}

// Cycle is one load and the idle after it, as offsets from the record's Started time.
type Cycle struct {
	// Index counts from 1.
	Index     int           `json:"index"`
	LoadStart time.Duration `json:"load_start_ns"`
	LoadEnd   time.Duration `json:"load_end_ns,omitempty"`
	// IdleEnd is 0 while the idle runs, or where the run ended before it did.
	IdleEnd time.Duration `json:"idle_end_ns,omitempty"`
	// Peak is the RSS high-water mark over the cycle's load and idle, where the kernel's
	// was reset when the cycle began; nil where only samples tell.
	Peak *PeakRSS `json:"peak,omitempty"`
}

// Phases are offsets from the record's Started time; zero where not reached.
type Phases struct {
	Start       time.Duration `json:"start_ns"`
	LoadStart   time.Duration `json:"load_start_ns,omitempty"`
	LoadEnd     time.Duration `json:"load_end_ns,omitempty"`
	CooldownEnd time.Duration `json:"cooldown_end_ns,omitempty"`
	// PurgeEnd closes the purge phase (--purge), which starts at CooldownEnd.
	PurgeEnd time.Duration `json:"purge_end_ns,omitempty"`
}

// Phase names a stage of a run, as the record's peaks and the live view name it.
type Phase string

// Phase names.
const (
	PhaseStarting Phase = "starting"
	PhaseBaseline Phase = "baseline"
	PhaseLoad     Phase = "load"
	PhaseCooldown Phase = "cooldown"
	PhasePurge    Phase = "purge"
	PhaseDone     Phase = "done"
)

// PhaseAt names the phase at offset t.
func (p Phases) PhaseAt(t time.Duration) Phase {
	switch {
	case p.LoadStart == 0 || t < p.LoadStart:
		return PhaseBaseline
	case p.LoadEnd == 0 || t < p.LoadEnd:
		return PhaseLoad
	case p.CooldownEnd == 0 || t < p.CooldownEnd:
		return PhaseCooldown
	case p.PurgeEnd > 0 && t < p.PurgeEnd:
		return PhasePurge
	}
	return PhaseDone
}

// Sample is a process (tree)'s figures at offset T from the record's start.
type Sample struct {
	T            time.Duration `json:"t_ns"`
	RSSBytes     uint64        `json:"rss_bytes"`
	VSZBytes     uint64        `json:"vsz_bytes"`
	PeakRSSBytes uint64        `json:"peak_rss_bytes"`
	AnonBytes    uint64        `json:"anon_bytes"`
	FileBytes    uint64        `json:"file_bytes"`
	PSSBytes     uint64        `json:"pss_bytes,omitempty"`
	USSBytes     uint64        `json:"uss_bytes,omitempty"`
	// LazyFreeBytes is the part of RSS given back with MADV_FREE that the kernel has not
	// yet taken (smaps_rollup, read with PSS): RSS − LazyFree is what the process holds.
	LazyFreeBytes uint64  `json:"lazy_free_bytes,omitempty"`
	CPUPercent    float64 `json:"cpu_percent"`
	Threads       int     `json:"threads"`
	FDs           int     `json:"fds"`
	MinorFaults   uint64  `json:"minor_faults"`
	// The target's memory cgroup at the same moment (with --cgroup, --memory-limit,
	// --fit): usage as the limit sees it, and its anonymous, file, kernel and socket parts.
	CgroupBytes       uint64 `json:"cgroup_bytes,omitempty"`
	CgroupAnonBytes   uint64 `json:"cgroup_anon_bytes,omitempty"`
	CgroupFileBytes   uint64 `json:"cgroup_file_bytes,omitempty"`
	CgroupKernelBytes uint64 `json:"cgroup_kernel_bytes,omitempty"`
	CgroupSockBytes   uint64 `json:"cgroup_sock_bytes,omitempty"`
	// CgroupWorkingSetBytes is the working set as the kubelet computes it (usage less
	// inactive page cache): what a Kubernetes memory limit is held against.
	CgroupWorkingSetBytes uint64 `json:"cgroup_working_set_bytes,omitempty"`
}

// HeapStats is the allocator's own account, from the server's /stats.
type HeapStats struct {
	T time.Duration `json:"t_ns"`
	// AllocatedBytes is what the allocator says the program holds (nil: it does not say).
	AllocatedBytes *uint64 `json:"allocated_bytes,omitempty"`
	// CommittedBytes is what the allocator holds from the OS.
	CommittedBytes *uint64 `json:"committed_bytes,omitempty"`
	// LiveBytes is what the program holds as counted by the server itself.
	LiveBytes uint64            `json:"live_bytes"`
	Requests  uint64            `json:"requests"`
	Version   string            `json:"version,omitempty"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
}

// LoadTick is one second of load against a target.
type LoadTick struct {
	T           time.Duration `json:"t_ns"`
	Requests    uint64        `json:"requests"`
	Bytes       uint64        `json:"bytes"`
	Errors      uint64        `json:"errors"`
	Non2xx      uint64        `json:"non2xx"`
	P50         time.Duration `json:"p50_ns"`
	P99         time.Duration `json:"p99_ns"`
	Connections int           `json:"connections"`
}

// LoadResult is the load generator's summary for a target.
type LoadResult struct {
	Requests  uint64            `json:"requests"`
	Duration  time.Duration     `json:"duration_ns"`
	ReqPerSec float64           `json:"req_per_sec"`
	Bytes     uint64            `json:"bytes"`
	P50       time.Duration     `json:"p50_ns"`
	P90       time.Duration     `json:"p90_ns"`
	P99       time.Duration     `json:"p99_ns"`
	P999      time.Duration     `json:"p999_ns"`
	Max       time.Duration     `json:"max_ns"`
	Mean      time.Duration     `json:"mean_ns"`
	Errors    map[string]uint64 `json:"errors"`
	Status    map[string]uint64 `json:"status"`
	// CoordinatedOmissionCorrected: open loop, latency from scheduled send times.
	CoordinatedOmissionCorrected bool `json:"coordinated_omission_corrected,omitempty"`
	// Engine is the load generator's I/O engine: io_uring or epoll.
	Engine string `json:"engine,omitempty"`
	// Tool is the external load tool whose summary gave these figures (wrk, vegeta,
	// locust: run --load-command), "" for the built-in generator.
	Tool string `json:"tool,omitempty"`
	// NoPercentiles: the tool gave no latency percentiles (wrk without --latency), so
	// P50 to P999 are unknown rather than 0.
	NoPercentiles bool `json:"no_percentiles,omitempty"`
}

// HasPercentiles says whether the result's latency percentiles are known. A p99 of 0
// over requests is none measured (a record whose cycles were merged without their
// histograms): no request answers in 0 µs.
func (r *LoadResult) HasPercentiles() bool {
	return r != nil && r.Requests > 0 && !r.NoPercentiles && r.P99 > 0
}

// ErrorCount sums the errors (non-2xx answers included).
func (r LoadResult) ErrorCount() uint64 {
	var n uint64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Exit is how a target process ended.
type Exit struct {
	T         time.Duration `json:"t_ns"`
	Code      int           `json:"code"`
	Signal    string        `json:"signal,omitempty"`
	Requested bool          `json:"requested"`
	// OOM is set when the kernel's OOM killer ended the target at its cgroup's limit.
	OOM *OOMKill `json:"oom,omitempty"`
}

// OOMKill is an OOM kill at a cgroup limit: which limit, and when in which phase.
type OOMKill struct {
	LimitBytes uint64        `json:"limit_bytes"`
	Phase      Phase         `json:"phase"`
	IntoPhase  time.Duration `json:"into_phase_ns"`
}

func (o *OOMKill) String() string {
	return fmt.Sprintf("OOM-killed at the %s limit, %.1f s into the %s", MiBString(o.LimitBytes), o.IntoPhase.Seconds(), o.Phase)
}

// MiBString writes a size in MiB, whole where it is.
func MiBString(b uint64) string {
	return units.WholeMiBs(b)
}

// Crashed is true when the process ended without allocscope asking.
func (e *Exit) Crashed() bool { return e != nil && !e.Requested }

func (e *Exit) String() string {
	if e == nil {
		return "running"
	}
	if e.OOM != nil {
		return e.OOM.String()
	}
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return "exited with code " + itoa(e.Code)
}

// Clause says how the process ended as the rest of a sentence whose subject is the
// process: "was killed by SIGABRT", "exited with code 1".
func (e *Exit) Clause() string {
	switch {
	case e == nil:
		return "was still running"
	case e.OOM != nil:
		return "was " + e.OOM.String()
	case e.Signal != "":
		return "was killed by " + e.Signal
	}
	return e.String()
}

// Event is something that happened: a phase change, a crash, a refused plan.
type Event struct {
	T       time.Duration `json:"t_ns"`
	Target  string        `json:"target,omitempty"`
	Kind    EventKind     `json:"kind"`
	Message string        `json:"message"`
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// FitPlan is a --fit search: for each target, the smallest memory limit (within
// Tolerance) under which the scenario completes with no OOM kill and at least
// MinThroughput of its unlimited throughput.
type FitPlan struct {
	// Trials is the most trials after the unlimited run.
	Trials        int     `json:"trials"`
	Tolerance     float64 `json:"tolerance"`
	MinThroughput float64 `json:"min_throughput"`
}
