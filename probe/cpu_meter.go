package probe

import (
	"strconv"

	"github.com/allocscope/allocscope/internal/rawio"
)

// CPUMeter splits the machine's CPU, interval by interval, between the groups of one
// process tree (Root and its descendants) and everything else on the machine.
type CPUMeter struct {
	FS FS
	// Root is the tree's top, allocscope itself.
	Root int
	// RescanEvery is how many Reads apart the whole process table is read (0:
	// DefaultRescanEvery); in between, only the tree's PIDs and the PIDs new since the
	// last Read are.
	RescanEvery int
	prev        *cpuReading
	// outside holds the PIDs last seen outside the tree, whose stat is not read again
	// until the next whole scan; sinceScan counts the Reads since that scan.
	outside   map[int]struct{}
	sinceScan int
	r         reader
}

// DefaultRescanEvery: reading every /proc/PID/stat on the machine each beat was a
// quarter of allocscope's own CPU under load, for a tree of a dozen processes. Between
// whole scans a Read lists /proc (one directory read) and reads the stat of the tree's
// processes and of the processes new since the last Read, which is what can join the
// tree: a process outside it stays outside, save for a PID reused within the few
// seconds between two scans, which the next scan puts right. A child that starts and
// exits between two Reads is not lost either: its reaper's cutime and cstime carry it.
const DefaultRescanEvery = 10

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
	every := m.RescanEvery
	if every <= 0 {
		every = DefaultRescanEvery
	}
	if m.prev != nil && m.outside != nil && m.sinceScan+1 < every {
		if tree, ok := m.readKnown(m.prev.tree); ok {
			m.sinceScan++
			return &cpuReading{machine: mc, tree: tree}, nil
		}
	}
	tree, err := m.scan()
	if err != nil {
		return nil, err
	}
	m.sinceScan = 0
	return &cpuReading{machine: mc, tree: tree}, nil
}

// readKnown reads the tree known from the last reading and the processes new since. It
// is not ok, and a whole scan is due, when one of the tree's processes ended, was
// reused or changed parent: its reaper is to be found among all processes.
func (m *CPUMeter) readKnown(known map[int]procCPU) (map[int]procCPU, bool) {
	if len(known) == 0 {
		return nil, false
	}
	tree := make(map[int]procCPU, len(known))
	for pid, q := range known {
		p, ok := m.readProc(pid)
		if !ok || p.start != q.start || p.ppid != q.ppid {
			return nil, false
		}
		tree[pid] = p
	}
	names, err := m.listProc()
	if err != nil {
		return nil, false
	}
	var fresh map[int]procCPU
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if _, ok := tree[pid]; ok {
			continue
		}
		if _, ok := m.outside[pid]; ok {
			continue
		}
		if p, ok := m.readProc(pid); ok {
			if fresh == nil {
				fresh = map[int]procCPU{}
			}
			fresh[pid] = p
		}
	}
	// A new process is in the tree when its parents lead to it, through other new ones.
	for pid := range fresh {
		in, at := false, pid
		for range len(fresh) + 1 {
			p, ok := fresh[at]
			if !ok {
				_, in = tree[at]
				break
			}
			at = p.ppid
		}
		if in {
			for at := pid; ; {
				p, ok := fresh[at]
				if !ok {
					break
				}
				tree[at] = p
				at = p.ppid
			}
		} else {
			m.outside[pid] = struct{}{}
		}
	}
	return tree, true
}

func (m *CPUMeter) readProc(pid int) (procCPU, bool) {
	b, err := m.r.read(m.FS.path(pid, "stat"))
	if err != nil {
		return procCPU{}, false
	}
	st, err := parseStat(b)
	if err != nil {
		return procCPU{}, false
	}
	return procCPU{ppid: st.ppid, start: st.startTicks, total: st.utimeTicks + st.stimeTicks + st.cutimeTicks + st.cstimeTicks}, true
}

// listProc lists /proc's names, unsorted, with raw calls: it runs at each beat.
func (m *CPUMeter) listProc() ([]string, error) {
	return rawio.Names(m.FS.root)
}

// scan reads the whole process table and returns Root's tree.
func (m *CPUMeter) scan() (map[int]procCPU, error) {
	names, err := m.listProc()
	if err != nil {
		return nil, err
	}
	all := map[int]procCPU{}
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if p, ok := m.readProc(pid); ok {
			all[pid] = p
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
	m.outside = map[int]struct{}{}
	for pid := range all {
		if _, ok := tree[pid]; !ok {
			m.outside[pid] = struct{}{}
		}
	}
	return tree, nil
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
