package experiment

import (
	"github.com/allocscope/allocscope/probe"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// provesByProc says whether a lane's allocator and settings are checked in /proc: a
// preloaded lane, and a --target command run with allocators. The built-in server's own
// builds need not be: their allocator is linked in, and /stats reads their settings back.
func (l lane) provesByProc() bool {
	return l.kind == record.KindPreload || (l.kind == record.KindCommand && (l.allocator != "" || len(l.env) > 0))
}

// observe reads what /proc shows of a lane's processes: the measured one and, for a
// --target command, its descendants. glibc's arenas are counted where glibc serves malloc.
func observe(pid int, tree, glibc bool) []servers.Observed {
	fs, err := probe.NewFS(probe.DefaultRoot)
	if err != nil {
		return nil
	}
	pids := []int{pid}
	if tree {
		kids, _ := fs.Descendants(pid)
		pids = append(pids, kids...)
	}
	var out []servers.Observed
	for _, p := range pids {
		env, err := fs.Environ(p)
		if err != nil {
			continue
		}
		maps, err := fs.Maps(p)
		if err != nil {
			continue
		}
		o := servers.Observed{PID: p, Env: env, Mapped: probe.Libraries(maps)}
		if pr, err := fs.ReadProcess(p, 0); err == nil {
			o.Comm = pr.Comm
		}
		if glibc {
			if a, err := fs.GlibcArenas(p, maps); err == nil {
				o.Arenas, o.ArenasExact = a.Count, a.Exact
			}
		}
		out = append(out, o)
	}
	return out
}

// preloadPath is the library lane l preloads, "" for none (as Experiment.spec sets it).
func (l lane) preloadPath() string {
	if l.library != "" || l.preload == "" {
		return l.library
	}
	alloc, err := servers.LookupAllocator(l.preload)
	if err != nil {
		return ""
	}
	lib, _ := alloc.PreloadPath()
	return lib
}

// proveInto checks in /proc that lane l's library is mapped and its settings reached its
// processes (servers.Prove); what /proc counted stands in for what the allocator could
// not report (effective is nil then).
func (e *Experiment) proveInto(l lane, p process, family string, effective map[string]string) (issues, proof []string, _ map[string]string) {
	library := l.preloadPath()
	glibc := library == "" && servers.Family(l.allocator) == "glibc"
	issues, proof, seen := servers.Prove(library, l.env, observe(p.PID(), l.kind == record.KindCommand, glibc))
	if effective == nil && family != "" {
		effective = seen
	}
	return issues, proof, effective
}
