#!/usr/bin/env bash
# allocscope's own cost over a soak: its RSS, CPU and wakeups, minute by minute, while it
# runs a light soak of two lanes headless; then the size of the record and how long
# `report` takes to read it. Not part of `make test`: it takes as long as the soak.
#   bash scripts/soak-self.sh [BIN] [SOAK] [EXTRA RUN FLAGS...]     (default SOAK 60m)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-bin/allocscope}")
soak=${2:-60m}
shift 2 || shift $# || true
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
hz=$(getconf CLK_TCK)
export XDG_STATE_HOME="$work/state"

"$bin" run --headless --allocators system,jemalloc -c 20 -R 200 --soak "$soak" -d 20s --idle 10s \
  --interval 1s --save "$work/soak.json" "$@" >"$work/summary.md" 2>"$work/log.txt" &
pid=$!

rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
wakeups() { cat /proc/"$pid"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'; }

until grep -q "load" "$work/log.txt" 2>/dev/null; do sleep 0.5; done
t0=$(date +%s); c0=$(ticks); w0=$(wakeups)
echo "minute  RSS (KiB)  CPU this minute / since start (% of a core)  wakeups/s this minute / since start"
m=0
pt=$t0 pc=$c0 pw=$w0
while kill -0 "$pid" 2>/dev/null; do
  sleep 60
  kill -0 "$pid" 2>/dev/null || break
  m=$((m + 1))
  now=$(date +%s)
  r=$(rss) c=$(ticks) w=$(wakeups)
  awk -v m="$m" -v r="$r" -v c="$((c - c0))" -v w="$((w - w0))" -v s="$((now - t0))" -v hz="$hz" \
    -v dc="$((c - pc))" -v dw="$((w - pw))" -v ds="$((now - pt))" \
    'BEGIN { printf "%6d  %9d  %25.2f / %.2f  %27.1f / %.1f\n", m, r, 100 * dc / hz / ds, 100 * c / hz / s, dw / ds, w / s }'
  pt=$now pc=$c pw=$w
done
wait "$pid" || true
echo "record: $(du -h "$work/soak.json" | cut -f1)"
start=$(date +%s.%N)
"$bin" report "$work/soak.json" >/dev/null
end=$(date +%s.%N)
awk -v a="$start" -v b="$end" 'BEGIN { printf "report (Markdown) took %.2f s\n", b - a }'
