#!/usr/bin/env bash
# Installs whatever is missing on a fresh machine, idempotently: Debian packages for the real
# backends the tests start (PostgreSQL, Redis, Prometheus, Chromium), the npm packages from the
# lock file, the TypeScript build, the collector binary and the Node.js lines tested besides the
# machine's node. Sourced by test.sh, demo.sh and bench.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '[setup] %s\n' "$*" >&2; }

# apt_ensure CMD PKG [CMD PKG ...]: installs PKG when CMD is not found.
apt_ensure() {
  local missing=()
  while [ $# -gt 0 ]; do
    local cmd="$1" pkg="$2"; shift 2
    if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "$cmd" ]; then missing+=("$pkg"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ ! -f /tmp/.otelkit-apt-updated ]; then
    $sudo apt-get update -qq >/dev/null && touch /tmp/.otelkit-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pg_bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

setup_backends() {
  apt_ensure redis-server redis-server prometheus prometheus promtool prometheus amtool prometheus-alertmanager
  if [ -z "$(pg_bin_dir)" ] || [ ! -x "$(pg_bin_dir)/initdb" ]; then
    apt_ensure /nonexistent/initdb postgresql
  fi
}

# Headless Chromium for the viewer's browser test (playwright-core drives Debian's build).
setup_browser() {
  apt_ensure /usr/bin/chromium chromium
}

setup_npm() {
  cd "$ROOT"
  # Reinstall only when the lock file changed since the last install.
  local stamp="node_modules/.otelkit-lock-hash" want
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" > "$stamp"
  fi
}

setup_build() {
  cd "$ROOT"
  log "building (tsc)"
  npm run -s build
}

setup_collector() {
  bash "$ROOT/collector/build.sh"
}

# The Node.js lines tested besides the machine's node: the exact versions pinned in
# scripts/node-lines, each installed once from the npm registry's node-linux-<arch> package (it
# ships the real binary as bin/node; no install script runs) into .cache/node/<version>/bin/node.
NODE_LINES_FILE="$ROOT/scripts/node-lines"
NODE_LINES_CACHE="$ROOT/.cache/node"

# node_line_versions: the pinned versions, one a line.
node_line_versions() {
  sed -e 's/#.*//' -e 's/[[:space:]]//g' "$NODE_LINES_FILE" | grep -v '^$'
}

# node_line_bin VERSION: where setup_node_lines puts that version's binary.
node_line_bin() { printf '%s/%s/bin/node\n' "$NODE_LINES_CACHE" "$1"; }

# install_node_line VERSION: installs one version unless it is already there and runs.
install_node_line() {
  local version="$1" dir="$NODE_LINES_CACHE/$1" bin arch tmp tgz out
  bin="$(node_line_bin "$version")"
  if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "v$version" ]; then return 0; fi
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) arch=x64 ;;
    Linux/aarch64) arch=arm64 ;;
    *) log "setup_node_lines: no node-linux-* package for $(uname -s)/$(uname -m); Node $version cannot be installed"; return 1 ;;
  esac
  log "installing Node $version (npm registry: node-linux-$arch@$version)"
  mkdir -p "$NODE_LINES_CACHE"
  tmp="$(mktemp -d "$NODE_LINES_CACHE/.download.XXXXXX")"
  if ! out="$(cd "$tmp" && npm pack "node-linux-$arch@$version" --pack-destination "$tmp" --loglevel=error 2>&1)"; then
    rm -rf "$tmp"
    log "setup_node_lines: downloading node-linux-$arch@$version from the npm registry failed:"
    printf '%s\n' "$out" >&2
    return 1
  fi
  tgz="$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)"
  if [ -z "$tgz" ] || ! tar -xzf "$tgz" -C "$tmp" package/bin/node package/LICENSE \
      || [ "$("$tmp/package/bin/node" --version 2>/dev/null)" != "v$version" ]; then
    rm -rf "$tmp"
    log "setup_node_lines: node-linux-$arch@$version did not unpack to a runnable bin/node reporting v$version"
    return 1
  fi
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
  rm -rf "$tmp"
}

# setup_node_lines: installs every pinned version (idempotent; one installer at a time).
setup_node_lines() {
  mkdir -p "$NODE_LINES_CACHE"
  (
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$NODE_LINES_CACHE/.lock"
      flock 9
    fi
    local v
    for v in $(node_line_versions); do install_node_line "$v" || exit 1; done
  )
}
