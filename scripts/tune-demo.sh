#!/usr/bin/env bash
# The README's tune sessions: one search for glibc and one for jemalloc on this machine,
# each with the command, its recommendation (stdout) and the front's chart. Run it alone
# on the machine (it measures); about 2 × the budget.   scripts/tune-demo.sh [BUDGET]
# Writes docs/tune-glibc.{txt,png} and docs/tune-jemalloc.{txt,png}.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-15m}
go build -o bin/allocscope ./cmd/allocscope
./bin/allocscope servers build --allocators system,jemalloc >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for alloc in glibc jemalloc; do
  cmd=(./bin/allocscope tune --allocators "$alloc" --scenario churn --threads 16 -c 200 -d 10
       --minimize peak_rss --keep 'rps>=-5%,p99<=+10%' --budget "$budget" --out "$work/$alloc")
  { echo "\$ ${cmd[*]#./bin/}"; "${cmd[@]}"; } | tee "docs/tune-$alloc.txt"
  # The front's chart: the screening trial with the most lanes, all settings side by side.
  trial=$(ls -S "$work/$alloc"/*-trial-01.json | head -1)
  ./bin/allocscope report "$trial" --chart pareto -o "docs/tune-$alloc.png"
  echo "wrote docs/tune-$alloc.txt and docs/tune-$alloc.png"
done
