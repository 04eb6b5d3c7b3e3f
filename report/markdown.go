package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/units"
)

// Markdown writes the seed benchmark's report: System, Load test, a `| # | RSS | VSZ |`
// table per target (KiB, one row per sample), the summary table and a conclusion.
func Markdown(w io.Writer, r *record.Record) error {
	r = PrintableRecord(r)
	var b strings.Builder
	names := make([]string, len(r.Targets))
	for i, t := range r.Targets {
		names[i] = mdCell(t.Name)
	}
	fmt.Fprintf(&b, "# allocscope: %s\n\n", strings.Join(names, " vs "))
	sampled := anySample(r)
	switch {
	case r.State == record.StateDone:
	case r.State == record.StateRunning && !sampled:
		fmt.Fprintf(&b, "> This record was written while the run was going, before its first sample: unless that run is still going, it stopped without finishing, and there is no sample to report.\n\n")
	case r.State == record.StateRunning:
		// A record still "running" on disk is a run that was killed (kill -9, a crash of
		// allocscope itself) unless it is still going: its last autosave is all there is.
		fmt.Fprintf(&b, "> This record was written while the run was going (its last save covers %.0f s): unless that run is still going, it stopped without finishing, and the figures cover what was measured until then.\n\n", lastMeasured(r).Seconds())
	case !sampled:
		fmt.Fprintf(&b, "> This run is **%s**: it stopped before its first sample, so there is no sample to report.\n\n", r.State)
	default:
		fmt.Fprintf(&b, "> This run is **%s**: the figures cover what was measured until then.\n\n", r.State)
	}
	writeBusy(&b, r)
	m := r.Machine
	b.WriteString("### System\n")
	fmt.Fprintf(&b, "- **Operating System**: %s\n", orUnknown(m.OS))
	fmt.Fprintf(&b, "- **Kernel**: %s\n", orUnknown(m.Kernel))
	fmt.Fprintf(&b, "- **Architecture**: %s\n", orUnknown(m.Arch))
	fmt.Fprintf(&b, "- **CPU**: %s (%d cores)\n", orUnknown(m.CPUModel), m.Cores)
	fmt.Fprintf(&b, "- **Memory**: %s\n", Bytes(float64(m.MemoryBytes)))
	fmt.Fprintf(&b, "- **Virtualization**: %s\n", orUnknown(m.Virtualization))
	if m.THP != "" || m.OvercommitMode != "" {
		fmt.Fprintf(&b, "- **Memory settings**: transparent huge pages %s (defrag %s), vm.overcommit_memory %s\n", orUnknown(m.THP), orUnknown(m.THPDefrag), orUnknown(m.OvercommitMode))
	}
	fmt.Fprintf(&b, "- **Tool**: allocscope %s, %s", orUnknown(r.Tool.Version), r.Tool.GoVersion)
	for _, k := range sortedKeys(r.Tool.Versions) {
		fmt.Fprintf(&b, ", %s", r.Tool.Versions[k])
	}
	writeLaneSettings(&b, r)
	p := r.Plan
	if p.Scenario == record.ScenarioWatch {
		fmt.Fprintf(&b, "\n\n### Watch\nRunning processes sampled every %s, no load sent.\n", p.Interval)
	} else {
		b.WriteString("\n\n### Load test\n")
		if p.ExternalLoad {
			b.WriteString("Your own load tool (run --load-command), once per target at once, its placeholders filled in for each:\n")
		}
		if n := p.Cycles; n > 1 || p.Soak > 0 {
			b.WriteString(cycledLoad(p) + ":\n")
		}
		b.WriteString("```bash\n" + p.LoadCommand + "\n```\n")
		writePlan(&b, p)
		writeEngines(&b, r.Targets)
		b.WriteString(cpuSplit(r))
	}
	b.WriteString("\n## Results\n")
	for _, t := range r.Targets {
		writeTarget(&b, t, r.Plan.Sweep)
	}
	if r.Plan.Sweep != nil {
		writeSweep(&b, r)
	} else {
		writeSummary(&b, r)
	}
	return writePrintable(w, b.String())
}

// writeLaneSettings lists what each lane ran with that shapes its figures: its thread
// count as measured, and the allocator settings in its environment.
func writeLaneSettings(b *strings.Builder, r *record.Record) {
	sums := record.Summarize(r)
	var parts []string
	for i, t := range r.Targets {
		part := t.Name
		if sums[i].Threads.Known() {
			part += fmt.Sprintf(" %s threads under load", Count(sums[i].Threads.Median))
		}
		if t.CPUs > 0 {
			part += fmt.Sprintf(", confined to %d CPU(s)", t.CPUs)
		}
		env := sortedKeys(t.Env)
		if t.Env != nil && len(env) == 0 {
			part += ", no allocator settings in its environment"
		}
		for _, k := range env {
			part += fmt.Sprintf(", `%s=%s`", k, t.Env[k])
		}
		parts = append(parts, part)
	}
	if len(parts) > 0 {
		fmt.Fprintf(b, "\n- **Lanes**: %s", strings.Join(parts, "; "))
	}
}

// crashClause is how a lane's crashed run ended, as the rest of a sentence: crash is its
// summary's account of it.
func crashClause(t record.Target, crash string) string {
	for _, run := range t.Runs {
		if run.Exit.Crashed() && run.Exit.String() == crash {
			return run.Exit.Clause()
		}
	}
	return "ended (" + crash + ")"
}

// anySample says whether any target of r was sampled at all.
func anySample(r *record.Record) bool {
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			if len(run.Samples) > 0 {
				return true
			}
		}
	}
	return false
}

// lastMeasured is the offset of the last sample of any target.
func lastMeasured(r *record.Record) time.Duration {
	var last time.Duration
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			if n := len(run.Samples); n > 0 {
				last = max(last, run.Samples[n-1].T)
			}
		}
	}
	return last
}

func writePlan(b *strings.Builder, p record.Plan) {
	mode := "all targets loaded at once"
	if p.Sequential {
		mode = "one target at a time"
	}
	scenario := p.Scenario
	if scenario == "" {
		scenario = "custom path"
	}
	method := p.Method
	if method == "" {
		method = "GET"
	}
	request := fmt.Sprintf("Scenario %s (`%s %s`)", scenario, method, p.Path)
	if len(p.Mix) > 0 {
		var parts []string
		for _, r := range p.Mix {
			parts = append(parts, fmt.Sprintf("%d× `%s %s`", r.Weight, r.Method, r.URL))
		}
		request = "A request mix in turn on each connection (" + strings.Join(parts, ", ") + "; only paths and queries are sent, to each target)"
	}
	if p.Cycles > 1 || p.Soak > 0 {
		fmt.Fprintf(b, "%s, %s idle before the first load and %s after each, sampled every %s, %s", request, p.Baseline, cycleIdle(p), p.Interval, mode)
	} else {
		fmt.Fprintf(b, "%s, %s idle before the load and %s after it, sampled every %s, %s", request, p.Baseline, p.Cooldown, p.Interval, mode)
	}
	if p.Runs > 1 {
		fmt.Fprintf(b, ", %d runs (figures are medians, ± half the min–max spread)", p.Runs)
	}
	if p.Rate > 0 {
		fmt.Fprintf(b, "; open loop at %g req/s, latency corrected for coordinated omission", p.Rate)
	}
	b.WriteString(".\n")
}

// writeEngines says which I/O engine the load generator used: it shapes the latency
// distribution at many connections, so runs compare fairly only on the same engine.
func writeEngines(b *strings.Builder, targets []record.Target) {
	var engines []string
	for _, t := range targets {
		for _, run := range t.Runs {
			if run.Result != nil && run.Result.Engine != "" && !slices.Contains(engines, run.Result.Engine) {
				engines = append(engines, run.Result.Engine)
			}
		}
	}
	if len(engines) > 0 {
		fmt.Fprintf(b, "Load generator I/O: %s.\n", strings.Join(engines, ", "))
	}
}

func writeTarget(b *strings.Builder, t record.Target, sw *record.Sweep) {
	fmt.Fprintf(b, "\n### %s\n", mdCell(t.Name))
	switch {
	case t.Kind == record.KindRemote:
		fmt.Fprintf(b, "Remote: `%s`, loaded from here; its memory read from `%s`, so its peaks are sampled.\n", t.URL, t.MemoryFrom)
	case len(t.Command) > 0:
		fmt.Fprintf(b, "```bash\n%s\n```\n", commandLine(t.Command))
	case t.Binary != "":
		fmt.Fprintf(b, "Built-in server, %s build (%s)", t.Allocator, Bytes(float64(t.BinaryBytes)))
		if t.Preload != "" {
			fmt.Fprintf(b, ", with `LD_PRELOAD=%s`", t.Preload)
		}
		b.WriteString(".\n")
	}
	if len(t.Runs) == 0 {
		b.WriteString("\nNot started.\n")
		return
	}
	if sw == nil {
		if len(t.Runs) > 1 {
			fmt.Fprintf(b, "Run 1 of %d:\n", len(t.Runs))
		}
		writeSamples(b, t, t.Runs[0])
		return
	}
	// A sweep's runs are its steps': one table each, or the first of a step's runs.
	for k := range sw.Values {
		var runs []record.TargetRun
		for _, run := range t.Runs {
			if run.Step == k {
				runs = append(runs, run)
			}
		}
		fmt.Fprintf(b, "\n#### %s\n", mdCell(sw.Label(k)))
		switch len(runs) {
		case 0:
			b.WriteString("\nNot run.\n")
			continue
		case 1:
		default:
			fmt.Fprintf(b, "Run 1 of %d:\n", len(runs))
		}
		writeSamples(b, t, runs[0])
	}
}

// writeSamples is the seed's table of a run's samples, and how the run ended.
func writeSamples(b *strings.Builder, t record.Target, run record.TargetRun) {
	b.WriteString("\n| # | RSS | VSZ |\n|---|------|--------|\n")
	for i, s := range run.Samples {
		fmt.Fprintf(b, "| %d | %s | %s |\n", i+1, units.WholeKiBs(s.RSSBytes), units.WholeKiBs(s.VSZBytes))
	}
	if run.Exit.Crashed() {
		fmt.Fprintf(b, "\n**%s %s at %.1f s.**\n", t.Name, run.Exit.Clause(), run.Exit.T.Seconds())
	} else if run.Exit != nil && t.Kind == record.KindProcess {
		fmt.Fprintf(b, "\n*The process exited at %.1f s.*\n", run.Exit.T.Seconds())
	}
}

// commandLine is a target's command as a user would type it: the script of `sh -c SCRIPT`,
// otherwise its words, quoted where a shell would split or expand them.
func commandLine(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = a
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\|&;<>()$`*?[]~#") {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	line := strings.Join(quoted, " ")
	if len(argv) == 3 && argv[0] == "sh" && argv[1] == "-c" {
		line = argv[2]
	}
	// A fence inside would end the code block.
	return strings.ReplaceAll(line, "```", "'''")
}

func writeSummary(b *strings.Builder, r *record.Record) {
	sums := record.Summarize(r)
	v := Judge(r)
	b.WriteString("\n## Summary\n\n")
	purged := record.AnyPurged(sums)
	after := ""
	if purged {
		after = " RSS after purge |"
	}
	// One table per server: a relative column across servers would compare the servers.
	groups := record.ServerGroups(r)
	for _, group := range groups {
		if group[0] != groups[0][0] {
			b.WriteString("\n")
		}
		if len(groups) > 1 {
			fmt.Fprintf(b, "### %s\n\n", serverTitle(r, group))
		}
		writeSummaryTable(b, r, sums, v, group, after, purged)
	}
	b.WriteString("\n" + peakNote(sums) + " RSS and VSZ are read from /proc/PID/statm. Threads is the most the server ran with under load (/proc/PID/stat). Heap in use is what the allocator itself reports handing out (n/a: a release build of mimalloc keeps no such count; see its committed bytes in the JSON). Errors count failed connections and requests and non-2xx answers.\n")
	if r.Plan.ExternalLoad {
		b.WriteString("\nThe load was your own command (see Load test): Req/s, latency and errors are what it printed (wrk's summary, vegeta's JSON report, Locust's --csv {csv} stats), n/a (external load) where it printed none allocscope reads.\n")
	}
	if note := v.Footnote(r); note != "" {
		b.WriteString("\n" + note + "\n")
	}
	writeFront(b, r)
	writePauses(b, r)
	writeSettings(b, r)
	writePurge(b, r, sums)
	writeCgroups(b, r, sums)
	writeRetention(b, sums)
	writeFit(b, r)
	b.WriteString("\n### Conclusion\n\n")
	for _, line := range v.Conclusions(r, sums) {
		b.WriteString("- " + line + "\n")
	}
}

// writeSummaryTable is the summary table of one server's lanes, relative to the first.
func writeSummaryTable(b *strings.Builder, r *record.Record, sums []record.Summary, v Verdict, group []int, after string, purged bool) {
	ext := r.Plan.ExternalLoad
	b.WriteString("| Target | Threads | Peak RSS | Peak RSS in cooldown | Mean RSS under load | RSS after cooldown |" + after + " Peak VSZ | Heap in use | Req/s | p50 | p99 | Errors | Binary | Relative peak RSS |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|" + strings.Repeat("---:|", strings.Count(after, "|")) + "---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, i := range group {
		s := sums[i]
		name := mdCell(s.Target)
		if s.Crash != "" {
			name += " (" + mdCell(s.Crash) + ")"
		} else if s.LoadError != "" {
			name += " (load worker died)"
		}
		if len(r.Targets[i].SettingIssues) > 0 {
			name += " ⚠"
		}
		afterPurge := ""
		if purged {
			afterPurge = " " + Figure(s.RSSAfterPurge, MiB) + " |"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |%s %s | %s | %s | %s | %s | %s | %s | %s |\n", name, Figure(s.Threads, Count),
			PeakCell(s.PeakRSS, s)+v.Mark(i, record.MetricPeakRSS.Key), PeakCell(s.PeakRSSCooldown, s),
			Figure(s.MeanRSSLoad, MiB)+v.Mark(i, record.MetricMeanRSSLoad.Key), Figure(s.RSSAfterCooldown, MiB)+v.Mark(i, record.MetricRSSAfterCooldown.Key),
			afterPurge, Figure(s.PeakVSZ, MiB)+v.Mark(i, record.MetricPeakVSZ.Key), Figure(s.HeapInUse, MiB),
			LoadFigure(s.ReqPerSec, Rate, ext)+v.Mark(i, record.MetricReqPerSec.Key), LoadFigure(s.P50, Millis, ext), LoadFigure(s.P99, Millis, ext)+v.Mark(i, record.MetricP99.Key),
			LoadFigure(s.Errors, Count, ext), Figure(s.BinaryBytes, Bytes), Ratio(s.PeakRSS, sums[group[0]].PeakRSS))
	}
}

// serverTitle names a server group: the built-in server, or a --target's command or URL.
func serverTitle(r *record.Record, group []int) string {
	t := r.Targets[group[0]]
	switch t.Kind {
	case record.KindCommand:
		return "`" + strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(commandLine(t.Command)) + "`"
	case record.KindRemote:
		return mdCell(t.URL)
	case record.KindProcess:
		return "Watched processes"
	}
	return "The built-in server"
}

// peakNote says where the peaks come from, lane by lane where they differ.
func peakNote(sums []record.Summary) string {
	note := "Peak RSS is the kernel's high-water mark (VmHWM in /proc/PID/status), reset when each phase starts (/proc/PID/clear_refs): exact, not the largest sample."
	var sampled, sinceStart, trees []string
	for _, s := range sums {
		if s.PeakSource == record.PeakSampled {
			sampled = append(sampled, s.Target)
		}
		if s.PeakResetRefused {
			sinceStart = append(sinceStart, s.Target)
		}
		if s.PeakUpperBound {
			trees = append(trees, s.Target)
		}
	}
	if len(sinceStart) > 0 {
		note += fmt.Sprintf(" For %s the kernel refused the reset, so its peaks are VmHWM since the process started taken with the sampled maximum (a phase without a new lifetime peak has only its sampled maximum).", strings.Join(sinceStart, ", "))
	}
	if len(sampled) > 0 {
		note += fmt.Sprintf(" ≥: for %s only the sampled maximum was to be had (the process was gone, or the record predates exact peaks): the true peak may be higher.", strings.Join(sampled, ", "))
	}
	if len(trees) > 0 {
		note += fmt.Sprintf(" ≤: %s is a process tree, whose peak is the sum of its members' peaks: an upper bound, as they need not peak at once.", strings.Join(trees, ", "))
	}
	return note
}

// Conclusions are short factual sentences computed from the figures: no opinions, and
// no difference called that the runs cannot back (see package verdict).
func Conclusions(r *record.Record, sums []record.Summary) []string {
	return Judge(r).Conclusions(r, sums)
}

// Conclusions are the record's conclusion, judged by v (Judge of the same record).
func (v Verdict) Conclusions(r *record.Record, sums []record.Summary) []string {
	out := append(retentionConclusion(r, v, sums), busyConclusion(r)...)
	out = append(out, pauseConclusion(r)...)
	out = append(out, v.lines(r, sums)...)
	out = append(out, limitConclusion(r, sums)...)
	out = append(out, fitConclusion(r)...)
	for _, s := range sums {
		if s.Crash == "" && s.PeakRSS.Known() && s.RSSAfterCooldown.Known() && s.PeakRSS.Median > 0 {
			drop := 1 - s.RSSAfterCooldown.Median/s.PeakRSS.Median
			out = append(out, fmt.Sprintf("%s ended the cooldown at %s, %.0f%% below its peak.", s.Target, MiB(s.RSSAfterCooldown.Median), 100*drop))
		}
	}
	out = append(out, purgeConclusion(r, sums)...)
	out = append(out, settingsConclusion(r)...)
	// What is said of a lane left out depends on whether any other lane went on.
	wentOn := 0
	for _, s := range sums {
		if s.Crash == "" && s.LoadError == "" {
			wentOn++
		}
	}
	leftOut := "the other targets went on, and it is left out of the comparisons"
	if wentOn == 0 {
		leftOut = "no target ran to the end, so there is nothing to compare"
	}
	for i, s := range sums {
		switch {
		case s.OOM != "":
			out = append(out, fmt.Sprintf("%s was %s; %s.", s.Target, s.OOM, leftOut))
		case s.Crash != "":
			out = append(out, fmt.Sprintf("%s %s during the run; %s.", s.Target, crashClause(r.Targets[i], s.Crash), leftOut))
		}
		if s.SourceError != "" {
			out = append(out, fmt.Sprintf("%s's memory source stopped answering (%s); it is left out of the comparisons.", s.Target, s.SourceError))
		}
		if s.LoadError != "" && s.Crash == "" {
			out = append(out, fmt.Sprintf("The load against %s ended without a result (%s); %s.", s.Target, s.LoadError, leftOut))
		}
		if s.Errors.Known() && s.Errors.Median > 0 {
			out = append(out, fmt.Sprintf("%s saw %s errors%s.", s.Target, Count(s.Errors.Median), errorKinds(r.Targets[i])))
		}
	}
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			if DeadLoad(run) && run.LoadError == "" && !run.Exit.Crashed() {
				out = append(out, fmt.Sprintf("The load against %s got no successful response (%s errors); it is left out of the comparisons.", t.Name, Count(float64(run.Result.ErrorCount()))))
				break
			}
		}
	}
	who := "The load generators"
	if r.Plan.Sequential {
		who = "Loading one target at a time, the load generator"
	}
	// The Load test section's split, in the same words, where the record has it: one
	// figure from one source over one window, not a second one from the lanes' samples.
	if m, _, ok := machineCPU(r); ok {
		out = append(out, fmt.Sprintf("%s used %.0f%% of the machine's CPU on average under load (all %d cores = 100%%), the servers %.0f%%: on this machine the client and servers share the cores, so throughput is bounded by both.",
			who, m.GeneratorsPct, r.Machine.Cores, m.ServersPct))
	} else if cpu, ok := clientCPU(r); ok {
		out = append(out, fmt.Sprintf("%s used %.0f%% CPU on average under load (of %d%% for %d cores), the servers %.0f%%: on this machine the client and servers share the cores, so throughput is bounded by both.",
			who, cpu.client, 100*r.Machine.Cores, r.Machine.Cores, cpu.servers))
	}
	if len(out) == 0 {
		out = append(out, "Not enough was measured to compare targets.")
	}
	return out
}

type cpuShare struct{ client, servers float64 }

// clientCPU averages the load workers' and the servers' summed CPU over the load phase.
func clientCPU(r *record.Record) (cpuShare, bool) {
	var c cpuShare
	found := false
	for _, t := range r.Targets {
		for _, run := range t.Runs {
			if v, ok := meanCPU(run.Client, run.Phases); ok {
				c.client += v
				found = true
			}
			if v, ok := meanCPU(run.Samples, run.Phases); ok {
				c.servers += v
			}
		}
	}
	// Concurrent loads add up; sequential ones do not overlap, so they average.
	div := float64(max(r.Plan.Runs, 1))
	if r.Plan.Sequential {
		div *= float64(max(len(r.Targets), 1))
	}
	c.client /= div
	c.servers /= div
	return c, found
}

func meanCPU(samples []record.Sample, p record.Phases) (float64, bool) {
	var sum float64
	var n int
	for _, s := range samples {
		if p.LoadStart > 0 && s.T > p.LoadStart+time.Second/2 && (p.LoadEnd == 0 || s.T <= p.LoadEnd) {
			sum += s.CPUPercent
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// cycleIdle is the idle after each cycle's load: --idle, by default the cooldown.
func cycleIdle(p record.Plan) time.Duration {
	if p.Idle > 0 {
		return p.Idle
	}
	return p.Cooldown
}

// cycledLoad says the command below is each cycle's load, not the run's.
func cycledLoad(p record.Plan) string {
	switch {
	case p.Soak > 0 && p.Cycles > 0:
		return fmt.Sprintf("Each cycle's load, repeated with %s idle after each for %s, at most %d cycles", cycleIdle(p), p.Soak, p.Cycles)
	case p.Soak > 0:
		return fmt.Sprintf("Each cycle's load, repeated with %s idle after each for %s", cycleIdle(p), p.Soak)
	}
	return fmt.Sprintf("Each cycle's load, %d cycles with %s idle after each", p.Cycles, cycleIdle(p))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// errorNames says each of the load generator's error kinds (record.LoadResult.Errors) in words.
var errorNames = map[string]string{
	"non2xx":  "non-2xx responses",
	"connect": "failed connects",
	"reset":   "connections reset with a response in flight",
	"timeout": "timeouts",
	"parse":   "responses that are not HTTP/1.x",
}

// errorKinds is ": N non-2xx responses, M timeouts" for t's errors (each kind's median
// over its runs, as the errors figure is), so that the reader knows where to look; ""
// when the record does not say.
func errorKinds(t record.Target) string {
	byKind := map[string][]float64{}
	for _, run := range t.Runs {
		if run.Result == nil {
			continue
		}
		for k, n := range run.Result.Errors {
			byKind[k] = append(byKind[k], float64(n))
		}
	}
	type kind struct {
		name string
		n    float64
	}
	var kinds []kind
	for k, v := range byKind {
		sort.Float64s(v)
		med := v[len(v)/2]
		if len(v)%2 == 0 {
			med = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		if med > 0 {
			kinds = append(kinds, kind{cmp.Or(errorNames[k], k), med})
		}
	}
	if len(kinds) == 0 {
		return ""
	}
	sort.Slice(kinds, func(i, j int) bool {
		if kinds[i].n != kinds[j].n {
			return kinds[i].n > kinds[j].n
		}
		return kinds[i].name < kinds[j].name
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = Count(k.n) + " " + k.name
	}
	return ": " + strings.Join(parts, ", ")
}
