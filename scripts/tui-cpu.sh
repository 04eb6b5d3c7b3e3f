#!/usr/bin/env bash
# allocscope's own CPU (its process alone, not its servers or load workers) over the load
# phase of a default run, with the TUI at 120×40 and headless, in the same session:
#   bash scripts/tui-cpu.sh [BIN] [EXTRA RUN FLAGS...]
# It reads utime+stime from /proc/PID/stat when the load starts and when it ends; with
# WINDOW=N, over N seconds from 1 s into the load instead (the steady state, without the
# load's end: reaping the load workers and reading their results).
set -euo pipefail
bin=$(realpath "${1:-bin/allocscope}")
shift || true
hz=$(getconf CLK_TCK)
work=$(mktemp -d)
socket="$work/tmux.sock"
trap 'tmux -S "$socket" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# wakeups PID: voluntary context switches of all its threads, each one a sleep that ended
# in a wakeup (little affected by other work on the machine, unlike the CPU figure).
wakeups() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'; }

# measure PID LOG: CPU % of one core between the load's start and end, from LOG's lines.
measure() {
  local pid=$1 log=$2 t0 c0 t1 c1 w0 w1
  until grep -q "load" "$log" 2>/dev/null; do sleep 0.1; done
  sleep 1 # past the load workers' start
  t0=$(date +%s.%N); c0=$(ticks "$pid"); w0=$(wakeups "$pid")
  if [ -n "${WINDOW:-}" ]; then
    sleep "$WINDOW"
  else
    until grep -q "cooldown" "$log" 2>/dev/null; do sleep 0.1; done
  fi
  t1=$(date +%s.%N); c1=$(ticks "$pid"); w1=$(wakeups "$pid")
  awk -v c="$((c1 - c0))" -v w="$((w1 - w0))" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f%% of a core, %.1f wakeups/s over %.1f s\n", 100 * c / hz / (t1 - t0), w / (t1 - t0), t1 - t0 }'
}

# With the TUI: the phase shows in the header, captured from the pane.
tmux -S "$socket" new-session -d -s cpu -x 120 -y 40 "GOGC=${GOGC:-100} XDG_STATE_HOME=$work/state '$bin' run $*; sleep 30"
pid=""
until [ -n "$pid" ]; do pid=$(pgrep -f "^$bin run" | head -n1 || true); sleep 0.1; done
( while tmux -S "$socket" has-session -t cpu 2>/dev/null; do
    tmux -S "$socket" capture-pane -p -t cpu | sed -n 2p | tr 'A-Z' 'a-z' >> "$work/tui.log"; sleep 0.2
  done ) &
echo "tui 120x40: $(measure "$pid" "$work/tui.log")"
tmux -S "$socket" send-keys -t cpu q
while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done

XDG_STATE_HOME=$work/state "$bin" run --headless "$@" >/dev/null 2>"$work/headless.log" &
pid=$!
echo "headless:   $(measure "$pid" "$work/headless.log")"
wait "$pid" || true
