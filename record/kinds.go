package record

// EventKind says what an Event is; views pick events out by kind (a pause on the chart,
// a crash in the summary).
type EventKind string

// The kinds of event a run records.
const (
	EventStart          EventKind = "start"
	EventExit           EventKind = "exit"
	EventCrash          EventKind = "crash"
	EventOOMKill        EventKind = "oom-kill"
	EventLoadDied       EventKind = "load-died"
	EventSourceLost     EventKind = "source-lost"
	EventPause          EventKind = "pause"
	EventResume         EventKind = "resume"
	EventStep           EventKind = "step"
	EventRun            EventKind = "run"
	EventCycle          EventKind = "cycle"
	EventFit            EventKind = "fit"
	EventBuild          EventKind = "build"
	EventCgroup         EventKind = "cgroup"
	EventPurge          EventKind = "purge"
	EventPurged         EventKind = "purged"
	EventSettingIgnored EventKind = "setting-ignored"
	// EventBusy says other work took the machine during the load (record.Interference).
	EventBusy    EventKind = "busy"
	EventWarning EventKind = "warning"
	EventError   EventKind = "error"
)
