#!/usr/bin/env bash
# The soak preset for a talk: six cycles of 20 s of load and 20 s of idle (about 4.5 min)
# of system, jemalloc and mimalloc on the fragment scenario, then its chart (SVG and PNG)
# and Markdown report. Run it on a quiet machine (it loads all its cores).
#   scripts/soak-demo.sh [OUT_DIR] [EXTRA RUN FLAGS…]   (default OUT_DIR: docs/soak)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/soak}
shift || true
mkdir -p "$out"
go build -o bin/allocscope ./cmd/allocscope
./bin/allocscope run --preset soak --headless --save "$out/soak.json" "$@" >"$out/summary.md"
./bin/allocscope report "$out/soak.json" --format md -o "$out/soak.md"
./bin/allocscope report "$out/soak.json" --format svg -o "$out/soak.svg"
./bin/allocscope report "$out/soak.json" --format png -o "$out/soak.png"
echo "wrote $out/soak.json, soak.md, soak.svg, soak.png"
sed -n '/Retention over cycles/,/^## /p' "$out/soak.md" | head -30
