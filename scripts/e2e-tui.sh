#!/usr/bin/env bash
# End to end through a real terminal: a short real run under tmux, read with
# capture-pane. Checks three panels, that m changes the chart, that e exports, and
# that q leaves no process behind. Usage: scripts/e2e-tui.sh [path/to/allocscope]
set -euo pipefail
bin=$(realpath "${1:-bin/allocscope}")
work=$(mktemp -d)
session="allocscope-e2e-$$"
socket="$work/tmux.sock"
trap 'tmux -S "$socket" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "e2e-tui: FAIL: $*" >&2; echo "--- screen ---" >&2; screen >&2 || true; exit 1; }
screen() { tmux -S "$socket" capture-pane -p -t "$session"; }
wait_for() { # wait_for PATTERN SECONDS
  for _ in $(seq 1 $(( $2 * 10 ))); do
    screen | grep -q -- "$1" && return 0
    sleep 0.1
  done
  return 1
}

cd "$work"
tmux -S "$socket" new-session -d -s "$session" -x 100 -y 32 \
  "XDG_STATE_HOME=$work/state '$bin' run -c 200 -d 20 --baseline 1s --cooldown 1s --interval 500ms; echo ALLOCSCOPE-EXIT=\$?; sleep 60"
wait_for "LOAD" 60 || fail "the load phase never showed"
pid=$(pgrep -f "^$bin run" | head -n1)
[ -n "$pid" ] || fail "allocscope is not running"
children=$(pgrep -P "$pid" | tr '\n' ' ')
[ "$(echo $children | wc -w)" -ge 6 ] || fail "want 3 servers and 3 load workers, found: $children"

panels=$(screen | sed -n 3p | grep -o '╭' | wc -l)
[ "$panels" -eq 3 ] || fail "want 3 panels side by side, found $panels"
screen | grep -q "RSS (MiB)" || fail "the chart does not show RSS first"
tmux -S "$socket" send-keys -t "$session" m
wait_for "VSZ (MiB)" 5 || fail "m did not switch the chart to VSZ"
tmux -S "$socket" send-keys -t "$session" e
wait_for "exported " 10 || fail "e did not report an export"
ls "$work"/allocscope-*.md "$work"/allocscope-*.json "$work"/allocscope-*.svg >/dev/null || fail "the exported files are missing"
tmux -S "$socket" send-keys -t "$session" q
wait_for "ALLOCSCOPE-EXIT=0" 20 || fail "q did not end allocscope cleanly"
for child in $children; do
  if [ -d "/proc/$child" ] && ! grep -q '^State:.*Z' "/proc/$child/status" 2>/dev/null; then
    fail "process $child outlived allocscope"
  fi
done
ls "$work"/state/allocscope/runs/*.json >/dev/null || fail "the run record was not saved"
echo "e2e-tui: 1 passed, 0 failed"
