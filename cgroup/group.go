package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/allocscope/allocscope/internal/rawio"
)

// Parent is this allocscope process's cgroup, Prefix+PID below Own: every lane's cgroup
// is made in it, and all of it is removed when the run ends.
type Parent struct {
	h   *Hierarchy
	Dir string
	// self is the v2 leaf allocscope moved itself into, "" when it did not move.
	self string
	// enabledOwn: allocscope enabled the memory controller in Own's subtree (v2).
	enabledOwn bool
}

// Begin makes this process's parent cgroup. It fails with ErrUnavailable (and a hint) where
// the hierarchy is not writable.
func (h *Hierarchy) Begin() (*Parent, error) {
	p := &Parent{h: h, Dir: filepath.Join(h.Own, Prefix+strconv.Itoa(os.Getpid()))}
	if err := os.Mkdir(p.Dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w: cannot create a cgroup in %s (%v): run allocscope as root, or in a delegated systemd scope (systemd-run --user --scope -p Delegate=yes allocscope …)", ErrUnavailable, h.Own, errors.Unwrap(err))
	}
	if h.Version == V2 {
		if err := p.delegateV2(); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// delegateV2 hands the memory controller down to the lanes' cgroups. cgroup v2 lets a
// cgroup enable a controller for its children only while it holds no processes itself,
// so allocscope first moves itself into a leaf of its own parent cgroup.
func (p *Parent) delegateV2() error {
	own := p.h.Own
	if !hasWord(readString(filepath.Join(own, "cgroup.subtree_control")), "memory") {
		if err := writeFile(filepath.Join(own, "cgroup.subtree_control"), "+memory"); err != nil {
			p.self = filepath.Join(p.Dir, "self")
			if err := os.Mkdir(p.self, 0o755); err != nil {
				return fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			if err := writeFile(filepath.Join(p.self, "cgroup.procs"), strconv.Itoa(os.Getpid())); err != nil {
				return fmt.Errorf("%w: cannot move allocscope into %s: %v", ErrUnavailable, p.self, err)
			}
			if err := writeFile(filepath.Join(own, "cgroup.subtree_control"), "+memory"); err != nil {
				return fmt.Errorf("%w: %s holds other processes, so cgroup v2 cannot hand its memory controller down: run allocscope in a scope of its own (systemd-run --user --scope -p Delegate=yes allocscope …)", ErrUnavailable, own)
			}
		}
		p.enabledOwn = true
	}
	if err := writeFile(filepath.Join(p.Dir, "cgroup.subtree_control"), "+memory"); err != nil {
		return fmt.Errorf("%w: cannot enable the memory controller in %s: %v", ErrUnavailable, p.Dir, err)
	}
	return nil
}

// Writable opens the hierarchy at root and proves it writable: it makes this process's
// parent cgroup and removes it again, so a plan that needs cgroups is refused before
// anything starts, with nothing left behind.
func Writable(root string) (*Hierarchy, error) {
	h, err := Open(root)
	if err != nil {
		return nil, err
	}
	p, err := h.Begin()
	if err != nil {
		return nil, err
	}
	return h, p.Close()
}

// Close removes every lane cgroup left and the parent itself, killing any process still
// in them, and undoes what Begin changed in Own.
func (p *Parent) Close() error {
	err := removeTree(p.Dir, p.self)
	if p.self != "" {
		writeFile(filepath.Join(p.Dir, "cgroup.subtree_control"), "-memory")
		if p.enabledOwn {
			writeFile(filepath.Join(p.h.Own, "cgroup.subtree_control"), "-memory")
		}
		writeFile(filepath.Join(p.h.Own, "cgroup.procs"), strconv.Itoa(os.Getpid()))
		if e := removeDir(p.self); e != nil && err == nil {
			err = e
		}
	} else if p.enabledOwn {
		writeFile(filepath.Join(p.h.Own, "cgroup.subtree_control"), "-memory")
	}
	if e := removeDir(p.Dir); e != nil && err == nil {
		err = e
	}
	return err
}

// Group is one lane's cgroup in one run.
type Group struct {
	Version Version
	Dir     string
	// LimitBytes is the memory limit set on it, 0 for none.
	LimitBytes uint64
}

// NewGroup makes a cgroup named name in the parent, with a memory limit when limit > 0
// (and no swap for it, where the controller has the setting).
func (p *Parent) NewGroup(name string, limit uint64) (*Group, error) {
	g := &Group{Version: p.h.Version, Dir: filepath.Join(p.Dir, sanitize(name)), LimitBytes: limit}
	if err := os.Mkdir(g.Dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("cannot create cgroup %s: %w", g.Dir, err)
	}
	if err := g.configure(); err != nil {
		g.Remove()
		return nil, err
	}
	return g, nil
}

func (g *Group) configure() error {
	limit := strconv.FormatUint(g.LimitBytes, 10)
	if g.Version == V2 {
		if g.LimitBytes == 0 {
			return nil
		}
		if err := writeFile(filepath.Join(g.Dir, "memory.max"), limit); err != nil {
			return fmt.Errorf("cannot set the memory limit of %s: %w", g.Dir, err)
		}
		writeOptional(filepath.Join(g.Dir, "memory.swap.max"), "0")
		return nil
	}
	// cgroup v1 charges sockets to a group only once it has a TCP limit; one far above
	// any real use turns the accounting on without limiting anything.
	writeOptional(filepath.Join(g.Dir, "memory.kmem.tcp.limit_in_bytes"), strconv.FormatUint(1<<50, 10))
	if g.LimitBytes == 0 {
		return nil
	}
	if err := writeFile(filepath.Join(g.Dir, "memory.limit_in_bytes"), limit); err != nil {
		return fmt.Errorf("cannot set the memory limit of %s: %w", g.Dir, err)
	}
	// memory+swap may not be below memory, so it is set second.
	writeOptional(filepath.Join(g.Dir, "memory.memsw.limit_in_bytes"), limit)
	writeOptional(filepath.Join(g.Dir, "memory.swappiness"), "0")
	return nil
}

// Procs are the processes in the group now.
func (g *Group) Procs() []int { return procsIn(g.Dir) }

// Remove kills whatever is still in the group and removes it.
func (g *Group) Remove() error { return removeTree(g.Dir, "") }

// Enter moves the calling process into the cgroup at dir. `allocscope __cgexec` calls it
// just before exec, so a target starts inside its cgroup, never a moment outside.
func Enter(dir string) error {
	return writeFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(os.Getpid()))
}

// RemoveLeftovers removes the cgroups that allocscope processes no longer running left in
// Own (one killed with SIGKILL cannot remove its own), with whatever is still in them.
// It returns the directories it removed.
func (h *Hierarchy) RemoveLeftovers() ([]string, error) {
	entries, err := os.ReadDir(h.Own)
	if err != nil {
		return nil, err
	}
	var removed []string
	var firstErr error
	for _, e := range entries {
		pid, ok := leftoverPID(e)
		if !ok || pid == os.Getpid() || allocscopeRunning(h.root, pid) {
			continue
		}
		dir := filepath.Join(h.Own, e.Name())
		if err := removeTree(dir, ""); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		removed = append(removed, dir)
	}
	return removed, firstErr
}

func leftoverPID(e os.DirEntry) (int, bool) {
	if !e.IsDir() || !strings.HasPrefix(e.Name(), Prefix) {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), Prefix))
	return pid, err == nil && pid > 0
}

// allocscopeRunning says whether pid is a live process. Any live process keeps its
// cgroup: another allocscope (another build, a test binary) may be running from another
// path, and a pid reused by something else only delays the removal until it ends.
func allocscopeRunning(root string, pid int) bool {
	b, err := os.ReadFile(filepath.Join(root, "proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

// removeTree removes dir and the cgroups below it, deepest first, killing the processes
// left in them; keep (a cgroup allocscope itself is in) is left for the caller.
func removeTree(dir, keep string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var firstErr error
	for _, e := range entries {
		sub := filepath.Join(dir, e.Name())
		if !e.IsDir() || sub == keep {
			continue
		}
		if err := removeTree(sub, keep); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if keep != "" && strings.HasPrefix(keep, dir+"/") {
		return firstErr
	}
	if err := removeDir(dir); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

// removeDir kills what is left in one cgroup and removes it, waiting for the killed to
// be gone: a cgroup with a process in it, even a dying one, cannot be removed.
func removeDir(dir string) error {
	var err error
	for attempt := 0; attempt < 100; attempt++ {
		for _, pid := range procsIn(dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		err = os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("cannot remove cgroup %s: %w", dir, err)
}

func procsIn(dir string) []int {
	var pids []int
	for _, f := range strings.Fields(readString(filepath.Join(dir, "cgroup.procs"))) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// sanitize keeps a lane's name usable as a directory name.
func sanitize(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		return "_" + string(b)
	}
	return string(b)
}

// readString reads with a raw read (rawio): the beat reads the lanes' stats with it,
// and a scheduler-aware read would wake Go's sysmon.
func readString(path string) string {
	b, _ := rawio.ReadFile(path, nil)
	return string(b)
}

func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeOptional writes a setting that not every kernel has.
func writeOptional(path, value string) {
	if _, err := os.Stat(path); err == nil {
		writeFile(path, value)
	}
}
