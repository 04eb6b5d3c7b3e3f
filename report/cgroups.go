package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/allocscope/allocscope/record"
)

// writeCgroups is the summary's memory-cgroup table: what the kernel charged each
// target, against its limit, and what the limit did.
func writeCgroups(b *strings.Builder, r *record.Record, sums []record.Summary) {
	if r.Plan.Cgroup == "" {
		return
	}
	fmt.Fprintf(b, "\n### Memory cgroups (cgroup %s)\n\n", r.Plan.Cgroup)
	b.WriteString("| Target | Limit | Cgroup peak | Anon | File | Kernel | Socket | Limit hits | OOM kills | Outcome |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for i, s := range sums {
		t := r.Targets[i]
		limit, parts, hits, outcome := "none", [4]string{"n/a", "n/a", "n/a", "n/a"}, "n/a", "completed"
		if s.CgroupLimit > 0 {
			limit = record.MiBString(s.CgroupLimit)
		}
		if len(t.Runs) > 0 {
			run := t.Runs[0]
			if at, ok := largestCgroupSample(run.Samples); ok {
				parts = [4]string{MiB(float64(at.CgroupAnonBytes)), MiB(float64(at.CgroupFileBytes)), MiB(float64(at.CgroupKernelBytes)), MiB(float64(at.CgroupSockBytes))}
			}
			// v1's memory.failcnt stayed 0 on kernel 6.18 even as the OOM killer struck:
			// only v2's memory.events counts the hits.
			if run.Cgroup != nil && r.Plan.Cgroup == "v2" {
				hits = Count(float64(run.Cgroup.Events.Max))
			}
		}
		switch {
		case s.OOM != "":
			outcome = "**" + s.OOM + "**"
		case s.Crash != "":
			outcome = mdCell(s.Crash)
		case !s.CgroupPeak.Known():
			outcome = "not measured"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(s.Target), limit, Figure(s.CgroupPeak, MiB),
			parts[0], parts[1], parts[2], parts[3], hits, Figure(s.OOMKills, Count), outcome)
	}
	b.WriteString("\nCgroup peak is the kernel's high-water mark of everything charged to the target's own cgroup (" + peakFile(r.Plan.Cgroup) + "): anonymous memory, page cache, kernel memory and socket buffers, which is what a container's limit holds against. Anon, file, kernel and socket are read at the largest sample of run 1 (memory.stat, and in cgroup v1 memory.kmem.*). Limit hits count the times usage reached the limit (cgroup v2's memory.events max; n/a on v1, whose memory.failcnt a 6.18 kernel left at 0 even as the OOM killer struck).\n")
}

func peakFile(version string) string {
	if version == "v2" {
		return "memory.peak"
	}
	return "memory.max_usage_in_bytes"
}

func largestCgroupSample(samples []record.Sample) (record.Sample, bool) {
	var best record.Sample
	for _, s := range samples {
		if s.CgroupBytes > best.CgroupBytes {
			best = s
		}
	}
	return best, best.CgroupBytes > 0
}

// limitConclusion says which targets fit under --memory-limit and which the OOM killer ended.
func limitConclusion(r *record.Record, sums []record.Summary) []string {
	if r.Plan.MemoryLimitBytes == 0 {
		return nil
	}
	var fit, killed []string
	for _, s := range sums {
		switch {
		case s.OOM != "" || (s.OOMKills.Known() && s.OOMKills.Max > 0):
			killed = append(killed, s.Target)
		case s.Crash == "" && s.CgroupPeak.Known():
			fit = append(fit, s.Target)
		}
	}
	line := "Under the " + record.MiBString(r.Plan.MemoryLimitBytes) + " limit, "
	switch {
	case len(fit) > 0 && len(killed) > 0:
		line += joinAnd(fit) + " fit; the OOM killer struck " + joinAnd(killed) + "."
	case len(fit) > 0:
		line += "every target fit: " + joinAnd(fit) + "."
	case len(killed) > 0:
		line += "the OOM killer struck every target: " + joinAnd(killed) + "."
	default:
		return nil
	}
	return []string{line}
}

// writeFit is a --fit search's result: each target's smallest container, and its trials.
func writeFit(b *strings.Builder, r *record.Record) {
	fits := record.Fits(r)
	if fits == nil {
		return
	}
	plan := r.Plan.Fit
	b.WriteString("\n### Smallest container (--fit)\n\n")
	fmt.Fprintf(b, "The smallest memory limit, to within %.0f%%, under which the scenario ran to the end with no OOM kill and at least %.0f%% of the target's unlimited throughput; the lanes were searched side by side, at most %d trials after the unlimited run.\n\n",
		100*plan.Tolerance, 100*plan.MinThroughput, plan.Trials)
	b.WriteString("| Target | Smallest container | Largest that did not fit | Peak unlimited | Req/s unlimited | Trials |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|\n")
	for _, f := range fits {
		smallest, below := "not found", "n/a"
		switch {
		case f.Excluded != "":
			smallest = "not searched: " + mdCell(f.Excluded)
		case f.Found:
			smallest = record.MiBString(f.Hi)
			if !f.Converged(plan.Tolerance) {
				smallest = "≤ " + smallest
			}
		}
		if f.Excluded == "" && f.Lo > 0 {
			below = record.MiBString(f.Lo)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %d |\n", mdCell(f.Target), smallest, below, MiB(float64(f.PeakBytes)), Rate(f.UnlimitedRPS), len(f.Trials))
	}
	b.WriteString("\n")
	for _, f := range fits {
		if len(f.Trials) == 0 {
			continue
		}
		var steps []string
		for _, t := range f.Trials {
			switch {
			case t.Interrupted:
				steps = append(steps, fmt.Sprintf("%s interrupted before its end (not counted)", record.MiBString(t.LimitBytes)))
			case t.Fits:
				steps = append(steps, fmt.Sprintf("%s fits (%s req/s)", record.MiBString(t.LimitBytes), Rate(t.ReqPerSec)))
			default:
				steps = append(steps, fmt.Sprintf("%s does not (%s)", record.MiBString(t.LimitBytes), t.Why))
			}
		}
		fmt.Fprintf(b, "- %s: %s.\n", mdCell(f.Target), strings.Join(steps, "; "))
	}
	b.WriteString("\n≤: the search stopped (its trials ran out, or it was interrupted) before it came within the tolerance. The search starts between the target's idle RSS and 1.1× its unlimited peak (the larger of its cgroup peak and its peak RSS, shown above): a cgroup is charged for the pages its processes touched first, so a server whose binary is already cached elsewhere holds less than its RSS, and a container that starts cold must hold it all. \"Largest that did not fit\" starts as the idle RSS.\n")
}

// fitConclusion compares the smallest containers, smallest first.
func fitConclusion(r *record.Record) []string {
	fits := record.Fits(r)
	var found []record.FitResult
	interrupted := false
	for _, f := range fits {
		if f.Found {
			found = append(found, f)
		}
		interrupted = interrupted || f.Interrupted
	}
	stopped := "The --fit search was interrupted before it ended: what follows is what its completed trials prove."
	if len(found) == 0 {
		switch {
		case interrupted:
			return []string{stopped + " No completed trial found a limit under which a target fit."}
		case fits != nil:
			return []string{"The --fit search found no limit under which a target fit."}
		}
		return nil
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].Hi < found[j].Hi })
	tol := r.Plan.Fit.Tolerance
	size := func(f record.FitResult) string {
		if f.Converged(tol) {
			return record.MiBString(f.Hi)
		}
		return "at most " + record.MiBString(f.Hi)
	}
	parts := []string{fmt.Sprintf("%s needs %s", found[0].Target, size(found[0]))}
	for _, f := range found[1:] {
		parts = append(parts, fmt.Sprintf("%s %s (%.2f× %s's)", f.Target, size(f), float64(f.Hi)/float64(found[0].Hi), found[0].Target))
	}
	out := []string{"Smallest container: " + strings.Join(parts, ", ") + "."}
	if interrupted {
		out = append([]string{stopped}, out...)
	}
	var open []string
	for _, f := range found {
		if !f.Converged(tol) {
			open = append(open, f.Target)
		}
	}
	if len(open) > 0 && !interrupted {
		out = append(out, fmt.Sprintf("The search did not come within %.0f%% for %s in %d trials: where trials at one limit disagree (throughput near the %.0f%% line, or an OOM kill near the peak), a longer -d or more --fit-trials narrows it.", 100*tol, joinAnd(open), r.Plan.Fit.Trials, 100*r.Plan.Fit.MinThroughput))
	}
	return out
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
