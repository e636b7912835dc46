#!/usr/bin/env bash
# Installs whatever is missing on a fresh machine, idempotently: Debian packages for the real
# backends the tests start (PostgreSQL, Redis, Prometheus, Chromium), the npm packages from the
# lock file, the TypeScript build and the collector binary. Sourced by test.sh, demo.sh and bench.sh.
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
