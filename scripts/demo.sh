#!/usr/bin/env bash
# `npm run demo`: installs what is missing, builds, then runs scripts/demo.mjs: the otelkit dev
# viewer (OTLP on :4318, page on http://localhost:16686/), payment-service and orders-service
# under the preload, and a little traffic. Ctrl-C stops everything. Ports: see scripts/demo.mjs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"

setup_npm
setup_build

cd "$ROOT"
# exec: node receives Ctrl-C / SIGTERM itself, stops the children, waits for them and exits 0.
exec node scripts/demo.mjs "$@"
