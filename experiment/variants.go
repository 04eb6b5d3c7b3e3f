package experiment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
func (e *Experiment) checkSettings(ctx context.Context, i int, p *servers.Process) error {
	l := e.lanes[i]
	if l.kind == record.KindRemote {
		return nil
	}
	family := servers.Family(l.allocator)
	var effective map[string]string
	mode, fetched := "", false
	if l.hasStats() {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s, err := servers.FetchStats(cctx, &http.Client{}, p.Addr)
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
		more, proof, effective = e.proveInto(i, l, p, family, effective)
		issues = append(servers.CheckSettings(family, l.env, effective, p.Output()), more...)
	}
	if l.arena && fetched && mode != "arena" {
		issues = append(issues, "+arena asked, but the server runs its heap mode")
	}
	e.mu.Lock()
	t := &e.rec.Targets[i]
	before := len(t.SettingIssues)
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
		}
	}
	fresh := t.SettingIssues[before:]
	e.mu.Unlock()
	for _, is := range fresh {
		e.event(l.name, "setting-ignored", fmt.Sprintf("%s: %s", l.name, is))
	}
	if e.opts.Strict && len(issues) > 0 {
		return fmt.Errorf("%w by --strict: lane %s: %s (fix the setting, or drop --strict to run it anyway)", ErrRefused, l.name, strings.Join(issues, "; "))
	}
	return nil
}

// purgePhase asks each lane's allocator to give memory back and measures for PurgeWait.
func (e *Experiment) purgePhase(ctx context.Context, run int, group []int, procs []*servers.Process) bool {
	e.setPhase(record.PhasePurge)
	e.logf("purge: asking each allocator to give memory back, then %s idle", e.opts.PurgeWait)
	for _, i := range group {
		e.turnPhase(i, run, record.PhasePurge)
	}
	e.purge(ctx, run, group, procs, "purge phase")
	ok := e.idle(ctx, run, group, e.opts.PurgeWait, func(p *record.Phases) *time.Duration { return &p.PurgeEnd })
	if ok {
		for _, i := range group {
			e.turnPhase(i, run, "")
		}
	}
	return ok
}

// purge sends GET /purge to the lanes in group at once and records each answer: one
// "purge" event marks the moment on the charts, a "purged" event per lane its answer.
func (e *Experiment) purge(ctx context.Context, run int, group []int, procs []*servers.Process, why string) {
	e.event("", "purge", "purge ("+why+"): asking each allocator to give memory back")
	var wg sync.WaitGroup
	for _, i := range group {
		l := e.lanes[i]
		if i >= len(procs) || procs[i] == nil {
			continue
		}
		if !l.hasStats() {
			e.event(l.name, "warning", fmt.Sprintf("%s: a --target command has no /purge: not purged", l.name))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.mu.Lock()
			tr := &e.rec.Targets[i].Runs[run]
			pg := record.Purge{T: e.since(time.Now())}
			if n := len(tr.Samples); n > 0 {
				pg.RSSBeforeBytes = tr.Samples[n-1].RSSBytes
			}
			e.mu.Unlock()
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			call, err := servers.Purge(cctx, &http.Client{}, procs[i].Addr)
			cancel()
			pg.Call = call
			msg := fmt.Sprintf("%s: purged (%s, %s)", l.name, call, why)
			if err != nil {
				pg.Error = err.Error()
				msg = fmt.Sprintf("%s: purge failed: %v", l.name, err)
			}
			e.mu.Lock()
			tr = &e.rec.Targets[i].Runs[run]
			tr.Purges = append(tr.Purges, pg)
			e.mu.Unlock()
			e.event(l.name, "purged", msg)
		}()
	}
	wg.Wait()
}

// PurgeNow asks every running lane's allocator to give memory back now (the TUI's key).
func (e *Experiment) PurgeNow() {
	e.mu.Lock()
	procs, run := e.procs, e.procsRun
	e.mu.Unlock()
	if procs == nil {
		return
	}
	group := make([]int, len(procs))
	for i := range group {
		group[i] = i
	}
	e.purge(context.Background(), run, group, procs, "on demand")
}
