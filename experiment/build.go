package experiment

import (
	"context"
	"fmt"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// build returns the server binary for each lane that needs one.
func (e *Experiment) build(ctx context.Context) (map[string]servers.Binary, error) {
	bins := map[string]servers.Binary{}
	b := e.parts.builder
	for i, l := range e.lanes {
		if l.kind == record.KindCommand || l.kind == record.KindRemote {
			continue
		}
		name := l.allocator
		if l.kind == record.KindPreload {
			name = "system"
		}
		if _, ok := bins[name]; !ok {
			alloc, err := servers.LookupAllocator(name)
			if err != nil {
				return nil, err
			}
			if b.CachedPath(alloc) == "" {
				e.event("", record.EventBuild, fmt.Sprintf("building the %s server (cargo build --release: a minute on a fresh machine, seconds after)", name))
			}
			bin, err := b.Build(ctx, alloc)
			if err != nil {
				return nil, err
			}
			bins[name] = bin
		}
		e.EditTarget(i, func(t *record.Target) { t.Binary, t.BinaryBytes = bins[name].Path, bins[name].SizeBytes })
	}
	return bins, nil
}

func (e *Experiment) spec(l lane, bins map[string]servers.Binary) (servers.Spec, error) {
	var spec servers.Spec
	switch l.kind {
	case record.KindCommand:
		spec = servers.Spec{Name: l.name, Command: servers.CommandArgv(l.command), Bind: e.opts.Bind, Guard: append(append([]string(nil), e.opts.Self...), servers.GuardCommand, "--")}
	case record.KindPreload:
		spec = servers.ServerSpec(l.name, bins["system"].Path, e.opts.Bind, e.opts.Threads)
	default:
		spec = servers.ServerSpec(l.name, bins[l.allocator].Path, e.opts.Bind, e.opts.Threads)
	}
	spec.Env = append(spec.Env, l.env...)
	spec.CPUs = l.cpus
	if l.arena {
		spec.Command = append(spec.Command, "--arena")
	}
	if l.library != "" {
		spec.Preload = l.library
		return spec, nil
	}
	if l.preload != "" {
		alloc, err := servers.LookupAllocator(l.preload)
		if err != nil {
			return spec, err
		}
		lib, err := alloc.PreloadPath()
		if err != nil {
			return spec, err
		}
		spec.Preload = lib
	}
	return spec, nil
}
