#!/usr/bin/env bash
# CI on a busy machine: the whole of `make test` (or the command given) with stress-ng
# keeping every CPU busy beside it from start to end. The suite must pass like this:
# its tests wait on conditions and assert what the kernel documents, so a loaded
# machine makes them slower, never red. Usage: scripts/ci-busy.sh [COMMAND...]
# (default: make test). Exits with the command's status.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:/usr/local/go/bin:$PATH"
bash scripts/setup.sh stress-ng
[ $# -gt 0 ] || set -- make test

cpus=$(nproc)
# The hog's own limit outlasts any suite (the test timeouts add up to under an hour);
# it is stopped as soon as the command ends.
stress-ng --cpu "$cpus" --timeout 3h --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null || true; wait "$hog" 2>/dev/null || true' EXIT
sleep 1
kill -0 "$hog" 2>/dev/null || { echo "ci-busy: stress-ng did not start" >&2; exit 1; }
echo "ci-busy: stress-ng --cpu $cpus (PID $hog) runs beside: $*" >&2

start=$SECONDS
status=0
"$@" || status=$?
echo "ci-busy: '$*' exited $status after $((SECONDS - start)) s with every CPU busy" >&2
exit "$status"
