#!/usr/bin/env bash
# Soak: the default experiment back to back, to show that nothing leaks between runs.
#  1. N separate `allocscope run`s: after each, no server or load worker is left, and
#     TIME_WAIT sockets drain rather than pile up.
#  2. One `allocscope run --runs N`, watched by `allocscope watch`: allocscope's own RSS
#     and open fds after each repetition stay flat.
# Not part of `make test` (it takes N × ~20 s twice).   scripts/soak.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5}
go build -o bin/allocscope ./cmd/allocscope
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME="$work/state"
count() { pgrep -fc "$1" || true; }
timewait() { ss -tan state time-wait 2>/dev/null | tail -n +2 | wc -l; }

echo "== $n separate runs"
for i in $(seq "$n"); do
  ./bin/allocscope run --headless >"$work/sum-$i.md" 2>"$work/err-$i.txt"
  sleep 1
  printf 'run %d: servers left %s, load workers left %s, TIME_WAIT sockets %s, req/s %s\n' "$i" \
    "$(count allocscope-server-)" "$(count __loadworker)" "$(timewait)" \
    "$(grep -E '^\| system ' "$work/sum-$i.md" | awk -F'|' '{gsub(/ /,"",$8); print $8}')"
done

echo "== one process, --runs $n, watched"
./bin/allocscope run --headless --runs "$n" --save "$work/runs.json" >/dev/null 2>"$work/runs-err.txt" &
pid=$!
./bin/allocscope watch "$pid" --interval 1s --headless --export-csv "$work/self.csv" >/dev/null 2>&1 || true
wait "$pid"
# One line per repetition: allocscope's own RSS and fds at the start of each baseline.
starts=$(./bin/allocscope report "$work/runs.json" --format json | grep -o '"start_ns": [0-9]*' | awk '{print $2/1e9}' | sort -n | uniq | awk 'NR%3==1')
i=0
for s in $starts; do
  i=$((i+1))
  awk -F, -v s="$s" 'NR>1 && $4+0>=s {printf "repetition %d at %.0fs: allocscope RSS %d KiB, fds %d\n", '"$i"', $4, $6, $15; exit}' "$work/self.csv"
done
echo "servers left $(count allocscope-server-), load workers left $(count __loadworker)"
