#!/usr/bin/env bash
# Compares allocscope's load generator with wrk and autocannon against the same built-in
# server, same connections and duration, in alternating rounds, then prints ratios.
# Also compares the clients' peak RSS at 10,000 connections. Not part of `make test`.
#   scripts/bench-loadgen.sh [ROUNDS] [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-5}
bash scripts/setup.sh wrk time >/dev/null
command -v npm >/dev/null || { echo "bench-loadgen: npm is needed for autocannon: install Node.js" >&2; exit 1; }
bench_dir="${XDG_CACHE_HOME:-$HOME/.cache}/allocscope/bench"
if [ ! -x "$bench_dir/node_modules/.bin/autocannon" ]; then
  echo "installing autocannon into $bench_dir (npm)" >&2
  mkdir -p "$bench_dir" && (cd "$bench_dir" && npm install --silent --no-audit --no-fund autocannon >/dev/null)
fi
autocannon="$bench_dir/node_modules/.bin/autocannon"
go build -o bin/allocscope ./cmd/allocscope
server=$(./bin/allocscope servers list | awk '$1=="system"{print $(NF-2)}')
[ -x "$server" ] || { ./bin/allocscope servers build --allocators system; server=$(./bin/allocscope servers list | awk '$1=="system"{print $(NF-2)}'); }
out=$(mktemp)
"$server" --port 0 >"$out" 2>/dev/null &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q listening= "$out" && break; sleep 0.1; done
addr=$(sed -E 's/.*listening=([^ ]+).*/\1/' "$out" | head -n1)
url="http://$addr/"
echo "server: $server ($addr), $rounds rounds of ${secs}s, $(nproc) cores shared by client and server"

rps_wrk()   { wrk -t"$(nproc)" -c"$1" -d"${secs}s" "$url" | awk '/Requests\/sec/{print $2}'; }
rps_ours()  { ./bin/allocscope load "$url" -c "$1" -d "$secs" --json 2>/dev/null | awk -F': ' '/"requests":/{r=$2} /"duration_ns":/{d=$2} END{gsub(",","",r); gsub(",","",d); printf "%.0f\n", r/(d/1e9)}'; }
rps_ac()    { "$autocannon" -c "$1" -d "$secs" -j "$url" 2>/dev/null | sed -E 's/.*"requests":\{"average":([0-9.]+).*/\1/'; }
mean()      { awk '{s+=$1; n++} END{printf "%.0f", s/n}'; }

for c in 100 1000; do
  : >/tmp/bench-ours; : >/tmp/bench-wrk; : >/tmp/bench-ac
  for r in $(seq "$rounds"); do
    # Alternate the order so no tool always runs on a warmer or cooler machine.
    if [ $((r % 2)) -eq 1 ]; then order="ours wrk ac"; else order="ac wrk ours"; fi
    for tool in $order; do "rps_$tool" "$c" >>"/tmp/bench-$tool"; sleep 1; done
  done
  o=$(mean </tmp/bench-ours); w=$(mean </tmp/bench-wrk); a=$(mean </tmp/bench-ac)
  echo "c=$c  req/s  allocscope $o ($(paste -sd/ /tmp/bench-ours))  wrk $w ($(paste -sd/ /tmp/bench-wrk))  autocannon $a ($(paste -sd/ /tmp/bench-ac))"
  echo "c=$c  ratios allocscope/wrk $(echo "scale=2; $o/$w" | bc)  allocscope/autocannon $(echo "scale=2; $o/$a" | bc)"
done

# Peak client RSS at 10,000 connections (GNU time's maximum resident set size).
rss() { /usr/bin/time -f %M "$@" >/dev/null 2>/tmp/bench-time; tail -n1 /tmp/bench-time; }
o=$(rss ./bin/allocscope load "$url" -c 10000 -d "$secs")
w=$(rss wrk -t"$(nproc)" -c10000 -d"${secs}s" "$url")
a=$(rss "$autocannon" -c 10000 -d "$secs" "$url")
echo "c=10000 peak client RSS KiB  allocscope $o  wrk $w  autocannon $a  (allocscope/wrk $(echo "scale=2; $o/$w" | bc))"
