package probe

import (
	"os"
	"strconv"
)

// CPUMeter splits the machine's CPU, interval by interval, between the groups of one
// process tree (Root and its descendants) and everything else on the machine.
type CPUMeter struct {
	FS FS
	// Root is the tree's top, allocscope itself.
	Root int
	prev *cpuReading
}

// CPUSplit is one interval of the machine's CPU, in percent of all its cores together
// (all cores busy = 100).
type CPUSplit struct {
	// Busy is the machine's time in processes (and stolen by other virtual machines).
	Busy float64
	// IRQ is its time in interrupts and softirqs, charged to no process.
	IRQ float64
	// Groups are the tree's shares: Groups[0] its processes in no group, Groups[k] the
	// processes under group k's PIDs.
	Groups []float64
	// Other is Busy less the whole tree's share, at least 0: work outside the tree.
	Other float64
}

// procCPU is what the meter needs of one process.
type procCPU struct {
	ppid  int
	start uint64
	// total is the process's own CPU and that of the descendants it reaped, in ticks.
	total uint64
}

type cpuReading struct {
	machine MachineCPU
	// tree holds Root and its descendants.
	tree map[int]procCPU
}

// Read measures the interval since the previous Read. groups maps a PID to its group
// (1…n): it and its descendants count to that group. The first Read only starts the
// interval, and is not ok.
func (m *CPUMeter) Read(groups map[int]int, n int) (CPUSplit, bool, error) {
	now, err := m.read()
	if err != nil {
		return CPUSplit{}, false, err
	}
	prev := m.prev
	m.prev = now
	if prev == nil {
		return CPUSplit{}, false, nil
	}
	return splitCPU(prev, now, m.Root, groups, n), true, nil
}

func (m *CPUMeter) read() (*cpuReading, error) {
	mc, err := m.FS.MachineCPU()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(m.FS.root)
	if err != nil {
		return nil, err
	}
	var r reader
	all := map[int]procCPU{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := r.read(m.FS.path(pid, "stat"))
		if err != nil {
			continue
		}
		if st, err := parseStat(b); err == nil {
			all[pid] = procCPU{ppid: st.ppid, start: st.startTicks, total: st.utimeTicks + st.stimeTicks + st.cutimeTicks + st.cstimeTicks}
		}
	}
	tree := map[int]procCPU{}
	if p, ok := all[m.Root]; ok {
		tree[m.Root] = p
		kids := map[int][]int{}
		for pid, p := range all {
			kids[p.ppid] = append(kids[p.ppid], pid)
		}
		for _, pid := range descendants(kids, m.Root) {
			tree[pid] = all[pid]
		}
	}
	return &cpuReading{machine: mc, tree: tree}, nil
}

// splitCPU is the arithmetic of one interval. A process's total includes the children it
// reaped, so the tree's summed totals grow by exactly its CPU: a process that ended and
// was reaped moves its time into its reaper's total. Group by group, that move is undone
// by taking the ended process's last total from the group of its reaper, its nearest
// ancestor still alive; what stays with the reaper is the ended process's last moments.
func splitCPU(prev, now *cpuReading, root int, groups map[int]int, n int) CPUSplit {
	out := CPUSplit{Groups: make([]float64, n+1)}
	total := float64(now.machine.Total()) - float64(prev.machine.Total())
	if total <= 0 {
		return out
	}
	pct := func(ticks float64) float64 { return 100 * ticks / total }
	ticks := make([]float64, n+1)
	for pid, p := range now.tree {
		before := float64(0)
		if q, ok := prev.tree[pid]; ok && q.start == p.start {
			before = float64(q.total)
		}
		ticks[groupOf(now.tree, pid, root, groups)] += float64(p.total) - before
	}
	for pid, q := range prev.tree {
		if p, ok := now.tree[pid]; ok && p.start == q.start {
			continue
		}
		reaper := q.ppid
		for {
			if _, ok := now.tree[reaper]; ok || reaper == root {
				break
			}
			r, ok := prev.tree[reaper]
			if !ok {
				reaper = root
				break
			}
			reaper = r.ppid
		}
		ticks[groupOf(now.tree, reaper, root, groups)] -= float64(q.total)
	}
	var own float64
	for g, t := range ticks {
		own += t
		out.Groups[g] = max(pct(t), 0)
	}
	out.Busy = pct(float64(now.machine.Busy) - float64(prev.machine.Busy))
	out.IRQ = pct(float64(now.machine.IRQ) - float64(prev.machine.IRQ))
	out.Other = max(out.Busy-pct(max(own, 0)), 0)
	return out
}

// groupOf is the group of pid's nearest ancestor (or itself) that groups names, else 0.
func groupOf(tree map[int]procCPU, pid, root int, groups map[int]int) int {
	for range len(tree) + 1 {
		if g, ok := groups[pid]; ok {
			return g
		}
		p, ok := tree[pid]
		if !ok || pid == root {
			return 0
		}
		pid = p.ppid
	}
	return 0
}
