#!/usr/bin/env bash
# The one test command: sets up a fresh machine, builds, lints, type-checks and runs every test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"

setup_backends
setup_browser
setup_npm
setup_build
if [ -f "$ROOT/collector/build.sh" ]; then setup_collector; fi

cd "$ROOT"
log "lint"
npm run -s lint
log "type-check"
npm run -s typecheck
log "tests"
# One file at a time: the integration tests start servers on fixed loopback ports.
if [ $# -eq 0 ]; then set -- test/*.test.mjs; fi
exec node --test --test-concurrency=1 --test-reporter=spec "$@"
