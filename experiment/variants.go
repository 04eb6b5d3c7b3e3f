package experiment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
)

// ErrRefused marks a plan refused by --strict: a lane's setting did not take effect.
var ErrRefused = errors.New("plan refused")

// hasStats says whether a lane runs the built-in server, which answers /stats and /purge.
func (l lane) hasStats() bool {
	return l.kind == record.KindBuiltin || l.kind == record.KindPreload
}

// checkSettings reads back what the lane's allocator runs with and records the settings
// it ignored or rejected. Under --strict, any such setting refuses the plan.
func (e *Experiment) checkSettings(ctx context.Context, i int, p process) error {
	l := e.lanes[i]
	if l.kind == record.KindRemote {
		return nil
	}
	family := servers.Family(l.allocator)
	var effective map[string]string
	mode, fetched := "", false
	if l.hasStats() {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s, err := e.parts.heap.Stats(cctx, p.Addr())
		cancel()
		if err == nil {
			fetched = true
			family, effective = servers.Family(s.Allocator), s.Settings
			if s.Mode == "arena" {
				mode = "arena"
			}
		}
	}
	issues := servers.CheckSettings(family, l.env, effective, p.Output())
	var proof []string
	if l.provesByProc() {
		var more []string
		more, proof, effective = e.proveInto(l, p, family, effective)
		issues = append(servers.CheckSettings(family, l.env, effective, p.Output()), more...)
	}
	if l.arena && fetched && mode != "arena" {
		issues = append(issues, "+arena asked, but the server runs its heap mode")
	}
	var fresh []string
	e.EditTarget(i, func(t *record.Target) {
		if len(effective) > 0 {
			t.Settings = effective
			t.SettingsUnchecked = servers.Unchecked(family, l.env, effective)
		}
		if len(proof) > 0 {
			t.Proof = proof
			t.SettingsUnchecked = servers.Unchecked(family, l.env, effective)
		}
		// A server too busy to answer at the run's end keeps what it said at its start.
		if fetched {
			t.Mode = mode
		}
		for _, is := range issues {
			if !slices.Contains(t.SettingIssues, is) {
				t.SettingIssues = append(t.SettingIssues, is)
				fresh = append(fresh, is)
			}
		}
	})
	for _, is := range fresh {
		e.event(l.name, record.EventSettingIgnored, fmt.Sprintf("%s: %s", l.name, is))
	}
	if e.opts.Strict && len(issues) > 0 {
		return fmt.Errorf("%w by --strict: lane %s: %s (fix the setting, or drop --strict to run it anyway)", ErrRefused, l.name, strings.Join(issues, "; "))
	}
	return nil
}

// purgePhase asks each lane's allocator to give memory back and measures for PurgeWait.
func (e *Experiment) purgePhase(ctx context.Context, r *running, group []int) bool {
	e.SetPhase(record.PhasePurge)
	e.logf("purge: asking each allocator to give memory back, then %s idle", e.opts.PurgeWait)
	for _, i := range group {
		e.turnPhase(i, r.run, record.PhasePurge)
	}
	e.purge(ctx, r, group, "purge phase")
	ok := e.idle(ctx, r.run, group, e.opts.PurgeWait, func(p *record.Phases) *time.Duration { return &p.PurgeEnd })
	if ok {
		for _, i := range group {
			e.turnPhase(i, r.run, "")
		}
	}
	return ok
}

// purge sends GET /purge to the lanes in group at once and records each answer: one
// "purge" event marks the moment on the charts, a "purged" event per lane its answer.
func (e *Experiment) purge(ctx context.Context, r *running, group []int, why string) {
	e.event("", record.EventPurge, "purge ("+why+"): asking each allocator to give memory back")
	var wg sync.WaitGroup
	for _, i := range group {
		l := e.lanes[i]
		if i >= len(r.procs) || r.procs[i] == nil {
			continue
		}
		if !l.hasStats() {
			e.event(l.name, record.EventWarning, fmt.Sprintf("%s: a --target command has no /purge: not purged", l.name))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pg record.Purge
			e.EditRun(i, r.run, func(tr *record.TargetRun) {
				pg.T = e.sinceLocked(time.Now())
				if n := len(tr.Samples); n > 0 {
					pg.RSSBeforeBytes = tr.Samples[n-1].RSSBytes
				}
			})
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			call, err := e.parts.heap.Purge(cctx, r.procs[i].Addr())
			cancel()
			pg.Call = call
			msg := fmt.Sprintf("%s: purged (%s, %s)", l.name, call, why)
			if err != nil {
				pg.Error = err.Error()
				msg = fmt.Sprintf("%s: purge failed: %v", l.name, err)
			}
			e.AppendPurge(i, r.run, pg)
			e.event(l.name, record.EventPurged, msg)
		}()
	}
	wg.Wait()
}

// PurgeNow asks every running lane's allocator to give memory back now (the TUI's key).
func (e *Experiment) PurgeNow() {
	e.mu.Lock()
	r := e.now
	e.mu.Unlock()
	if r == nil {
		return
	}
	group := make([]int, len(r.procs))
	for i := range group {
		group[i] = i
	}
	e.purge(context.Background(), r, group, "on demand")
}
