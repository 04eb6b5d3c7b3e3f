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
# Every wait is on a condition; the seconds only end a failing run, and are generous
# because a busy machine (make test beside other work) may take many times the usual.
wait_for() { # wait_for PATTERN SECONDS
  local deadline=$((SECONDS + $2))
  until screen | grep -q -- "$1"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
wait_until() { # wait_until SECONDS COMMAND...: until COMMAND succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
# alive PID...: succeeds if any of them is running (not a zombie).
alive() {
  local p
  for p in "$@"; do
    if [ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then return 0; fi
  done
  return 1
}
none_alive() { ! alive "$@"; }

cd "$work"
tmux -S "$socket" new-session -d -s "$session" -x 100 -y 32 \
  "XDG_STATE_HOME=$work/state '$bin' run -c 200 -d 300 --baseline 1s --cooldown 1s --interval 500ms; echo ALLOCSCOPE-EXIT=\$?; sleep 60"
wait_for "LOAD" 120 || fail "the load phase never showed"
pid=$(pgrep -f "^$bin run" | head -n1)
[ -n "$pid" ] || fail "allocscope is not running"
six_children() { children=$(pgrep -P "$pid" | tr '\n' ' '); [ "$(echo $children | wc -w)" -ge 6 ]; }
wait_until 60 six_children || fail "want 3 servers and 3 load workers, found: $children"

panels=$(screen | sed -n 3p | grep -o '╭' | wc -l)
[ "$panels" -eq 3 ] || fail "want 3 panels side by side, found $panels"
screen | grep -q "RSS (MiB)" || fail "the chart does not show RSS first"
tmux -S "$socket" send-keys -t "$session" m
wait_for "VSZ (MiB)" 60 || fail "m did not switch the chart to VSZ"
tmux -S "$socket" send-keys -t "$session" e
wait_for "exported " 60 || fail "e did not report an export"
ls "$work"/allocscope-*.md "$work"/allocscope-*.json "$work"/allocscope-*.svg >/dev/null || fail "the exported files are missing"
tmux -S "$socket" send-keys -t "$session" q
wait_for "ALLOCSCOPE-EXIT=0" 60 || fail "q did not end allocscope cleanly"
for child in $children; do
  wait_until 60 none_alive "$child" || fail "process $child outlived allocscope"
done
ls "$work"/state/allocscope/runs/*.json >/dev/null || fail "the run record was not saved"

# replay of that record: SIGTERM ends it with 143, and the shell gets its screen back.
session="allocscope-e2e-replay-$$"
saved=$(ls "$work"/state/allocscope/runs/*.json | head -n1)
tmux -S "$socket" new-session -d -s "$session" -x 100 -y 32 \
  "'$bin' replay '$saved'; echo ALLOCSCOPE-EXIT=\$?; sleep 60"
wait_for "RSS (MiB)" 60 || fail "replay never showed its chart"
pid=$(pgrep -f "^$bin replay" | head -n1)
kill -TERM "$pid"
wait_for "ALLOCSCOPE-EXIT=143" 60 || fail "SIGTERM did not end replay with 143"
screen | grep -q "RSS (MiB)" && fail "replay's frame is still on the screen after it ended"

# SIGTERM while the TUI runs: it must exit with 143, every time (it hung 3 times in 9
# when bubbletea and allocscope both caught the signal).
for try in 1 2 3 4 5; do
  session="allocscope-e2e-term-$$-$try"
  tmux -S "$socket" new-session -d -s "$session" -x 120 -y 40 \
    "XDG_STATE_HOME=$work/state '$bin' run -c 300 -d 300 --baseline 0 --cooldown 1s; echo ALLOCSCOPE-EXIT=\$?; sleep 60"
  wait_for "LOAD" 120 || fail "try $try: the load phase never showed"
  pid=$(pgrep -f "^$bin run -c 300" | head -n1)
  sleep 1
  kill -TERM "$pid"
  wait_for "ALLOCSCOPE-EXIT=143" 60 || fail "try $try: SIGTERM did not end allocscope with 143"
done

# r pressed every 100 ms for 3 s: never more than one run's servers alive at once.
session="allocscope-e2e-restart-$$"
tmux -S "$socket" new-session -d -s "$session" -x 120 -y 40 \
  "XDG_STATE_HOME=$work/state '$bin' run --allocators system,jemalloc -c 50 -d 300 --baseline 0 --cooldown 1s; echo ALLOCSCOPE-EXIT=\$?; sleep 60"
wait_for "LOAD" 120 || fail "the restart run never showed its load"
pid=$(pgrep -f "^$bin run --allocators system,jemalloc" | head -n1)
most=0
seen=""
for _ in $(seq 1 30); do
  tmux -S "$socket" send-keys -t "$session" r
  for _ in 1 2 3 4; do
    sleep 0.025
    pids=$( (pgrep -P "$pid" -f allocscope-server || true) | tr '\n' ' ')
    n=$(echo $pids | wc -w)
    if [ "$n" -gt "$most" ]; then most=$n; fi
    seen="$seen $pids"
  done
done
distinct=$(echo $seen | tr ' ' '\n' | sort -u | grep -c . || true)
echo "e2e-tui: $distinct servers started while r was pressed, at most $most alive at once"
[ "$most" -le 2 ] || fail "$most servers alive at once while r was pressed: runs overlapped"
tmux -S "$socket" send-keys -t "$session" q
wait_for "ALLOCSCOPE-EXIT=0" 60 || fail "q after repeated r did not end allocscope cleanly"
# Only this run's servers, by PID and name: other runs of allocscope may share the machine.
server_alive() { alive "$1" && grep -q allocscope-server "/proc/$1/cmdline" 2>/dev/null; }
no_server_left() {
  local p
  for p in $seen; do server_alive "$p" && return 1; done
  return 0
}
wait_until 60 no_server_left || fail "servers left after q: $(for p in $seen; do server_alive "$p" && echo -n "$p "; done)"
echo "e2e-tui: 3 passed, 0 failed"
