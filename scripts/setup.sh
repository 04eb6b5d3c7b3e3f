#!/usr/bin/env bash
# Installs what allocscope needs when it is missing; fast and silent when all is there.
# Run by `make demo` and `make test`. Extra Debian packages can be named as arguments.
set -euo pipefail

packages=(libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev libclang-rt-14-dev librust-hyper-dev librust-tokio-dev librust-tokio-macros-dev librust-bumpalo-dev tmux procps "$@")

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

need_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "allocscope setup: $1 is not installed: $2" >&2
  exit 1
}
need_tool go "install Go 1.26 or newer from go.dev/dl (or your distribution)"
need_tool gcc "apt-get install -y gcc"
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  echo "allocscope setup: cargo is in ~/.cargo/bin but not on PATH: run 'export PATH=\$HOME/.cargo/bin:\$PATH'" >&2
  exit 1
fi
need_tool cargo "install Rust 1.77 or newer (rustup.rs), or apt-get install -y cargo rustc where the distribution's is new enough"

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt=(apt-get)
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt=(sudo apt-get)
  else
    echo "allocscope setup: missing packages; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "allocscope setup: installing ${missing[*]} (apt-get; a minute at most)" >&2
  log=$(mktemp)
  # An old package list finds nothing: refresh it once before installing. Another apt-get
  # (unattended upgrades, a second setup) may hold dpkg's lock for a while: wait for it
  # rather than fail on a fresh machine.
  lock=(-o DPkg::Lock::Timeout=600)
  if ! { DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${lock[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${lock[@]}" install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 15 "$log" >&2
    echo "allocscope setup: installing failed (above); try: sudo apt-get install -y ${missing[*]}" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  echo "allocscope setup: installed ${missing[*]}" >&2
fi

# A rustup proxy without a default toolchain fails (with a Rust backtrace): say what to do.
if ! rust=$(RUST_BACKTRACE=0 rustc --version 2>/dev/null | awk '{print $2}') || [ -z "$rust" ]; then
  echo "allocscope setup: rustc is installed but does not run; with rustup that means no default toolchain: run 'rustup default stable'" >&2
  exit 1
fi
if [ "$(printf '%s\n1.77.0\n' "$rust" | sort -V | head -n1)" != "1.77.0" ]; then
  echo "allocscope setup: rustc $rust is too old for the server (needs 1.77+): update with 'rustup update' or install a newer rustc" >&2
  exit 1
fi
