#!/usr/bin/env bash
# The benchmarks, each measuring its configurations side by side in one run: start-up and
# request throughput (plain node, the official register, otelkit), and the logger (bare
# winston against otelkit's logger).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"
apt_ensure wrk wrk
setup_npm
setup_build
cd "$ROOT"
node bench/startup.mjs "${STARTUP_ROUNDS:-10}"
echo
node bench/http.mjs "${HTTP_ROUNDS:-3}" "${HTTP_SECONDS:-5}"
echo
node bench/logger.bench.mjs > /dev/null
