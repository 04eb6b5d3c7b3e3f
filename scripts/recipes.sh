#!/usr/bin/env bash
# The README's recipes: someone else's server under several allocators, run and measured.
# Each recipe installs its own Debian packages (through scripts/setup.sh) and writes its
# run record and Markdown under $OUT (default recipes-out/). Not part of `make test`: each
# recipe loads the machine for a few minutes. Run them alone on a quiet machine:
#
#   bash scripts/recipes.sh [python|waitress|nginx|wrk]...   (default: python waitress nginx)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/allocscope}
OUT=${OUT:-recipes-out}
RUNS=${RUNS:-3}
DURATION=${DURATION:-20}
CONNS=${CONNS:-50}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
[ -x "$BIN" ] || make build >/dev/null

# run NAME ARGS...: one headless run, its record and its Markdown under $OUT.
run() {
  local name=$1
  shift
  echo "== $name: $BIN run --headless $*" >&2
  "$BIN" run --headless --runs "$RUNS" -d "$DURATION" -c "$CONNS" --save "$OUT/$name.json" "$@"
  "$BIN" report --format md -o "$OUT/$name.md" "$OUT/$name.json"
  echo "== $name: $OUT/$name.md" >&2
}

# Python's standard library: http.server answers each request on a thread of its own,
# so glibc makes arenas as threads contend, and MALLOC_ARENA_MAX bounds them.
python() {
  bash scripts/setup.sh python3
  run python \
    --target 'py=python3 -m http.server {port} --bind 127.0.0.1' \
    --target-allocators 'system,system+MALLOC_ARENA_MAX=2,jemalloc'
}

# A Debian-packaged WSGI server: waitress with 8 worker threads, serving the standard
# library's demo app (wsgiref.simple_server.demo_app), no code of ours.
waitress() {
  bash scripts/setup.sh python3-waitress
  run waitress \
    --target 'wsgi=/usr/bin/python3 -m waitress --listen=127.0.0.1:{port} --threads=8 wsgiref.simple_server:demo_app' \
    --target-allocators 'system,system+MALLOC_ARENA_MAX=2,jemalloc'
}

# nginx allocates from its own pools, one per connection and request, and asks malloc
# for little: the allocator should matter little. One master and two workers: a tree,
# so its peaks are the sum of the three (≤).
nginx() {
  bash scripts/setup.sh nginx-light
  local dir="$OUT/nginx"
  mkdir -p "$dir/www" "$dir/logs"
  head -c 4096 /dev/zero | tr '\0' 'x' >"$dir/www/index.html"
  cat >"$dir/nginx.conf.in" <<CONF
daemon off;
worker_processes 2;
pid $dir/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/logs;
  server {
    listen 127.0.0.1:@PORT@;
    root $dir/www;
  }
}
CONF
  # nginx takes its port from its configuration only: the command writes it first, then
  # execs nginx in the shell's place.
  run nginx \
    --target "nginx=sed 's/@PORT@/{port}/' $dir/nginx.conf.in > $dir/nginx.conf && exec /usr/sbin/nginx -p $dir -c $dir/nginx.conf" \
    --target-allocators 'system,jemalloc,mimalloc'
}

# wrk with a Lua script as the load (POSTs of a small JSON body), through --load-command:
# the load comes from another tool, and allocscope measures the server.
wrk() {
  bash scripts/setup.sh wrk python3
  cat >"$OUT/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body   = '{"user": 42, "items": [1, 2, 3, 4, 5, 6, 7, 8]}'
wrk.headers["Content-Type"] = "application/json"
LUA
  # waitress's demo app answers a POST (python's http.server answers 501: no do_POST).
  bash scripts/setup.sh python3-waitress wrk
  run wrk \
    --target 'wsgi=/usr/bin/python3 -m waitress --listen=127.0.0.1:{port} --threads=8 wsgiref.simple_server:demo_app' \
    --target-allocators 'system,jemalloc' \
    --load-command "wrk -t2 -c$CONNS -d${DURATION}s -s $OUT/post.lua {url}"
}

recipes=("$@")
[ ${#recipes[@]} -gt 0 ] || recipes=(python waitress nginx)
for r in "${recipes[@]}"; do
  case $r in
  python | waitress | nginx | wrk) "$r" ;;
  *)
    echo "recipes.sh: no recipe $r: choose python, waitress, nginx or wrk" >&2
    exit 2
    ;;
  esac
done
