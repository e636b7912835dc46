#!/usr/bin/env bash
# The one test command: sets up a fresh machine, builds, lints and type-checks once, then runs
# every test on each Node.js line: the machine's node and every version pinned in
# scripts/node-lines (installed by setup_node_lines). Prints a summary per line at the end and
# exits non-zero when any line fails.
#
#   bash scripts/test.sh                          every test file, every line
#   bash scripts/test.sh test/foo.test.mjs ...    those files, every line
#   OTELKIT_TEST_LINES="20 24" bash scripts/test.sh ...   only those lines (by major version)
#   OTELKIT_TEST_PARALLEL=0 bash scripts/test.sh  the lines one after another, output streamed
#                                                 (default: side by side, each line's output
#                                                 printed when all have ended)
#
# Side by side is safe: every test takes free loopback ports and temporary directories of its
# own, and within a line the files still run one at a time. On 2 cores the three lines take about
# 2.2 min side by side against 5.5 min one after another (the tests mostly wait on servers).
#
# Each line's whole output is also kept in test/artifacts/node-<major>.log, and what its tests
# save (screenshots, demo logs) in test/artifacts/node-<major>/ (OTELKIT_TEST_ARTIFACTS).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"

# The lines to run: "major version binary", the machine's node first.
system_node="$(command -v node)" || { log "node not found in PATH"; exit 1; }
system_version="$("$system_node" -p process.versions.node)"
lines=("${system_version%%.*} $system_version $system_node")
while read -r v; do
  [ "${v%%.*}" = "${system_version%%.*}" ] && continue # the machine's node is that line
  lines+=("${v%%.*} $v $(node_line_bin "$v")")
done < <(node_line_versions)
if [ -n "${OTELKIT_TEST_LINES:-}" ]; then
  selected=()
  for want in $OTELKIT_TEST_LINES; do
    found=""
    for l in "${lines[@]}"; do
      if [ "${l%% *}" = "$want" ]; then selected+=("$l"); found=1; fi
    done
    if [ -z "$found" ]; then
      log "OTELKIT_TEST_LINES: no Node line $want (lines: $(for l in "${lines[@]}"; do printf '%s ' "${l%% *}"; done))"
      exit 1
    fi
  done
  lines=("${selected[@]}")
fi

setup_backends
setup_browser
setup_npm
setup_build
if [ -f "$ROOT/collector/build.sh" ]; then setup_collector; fi
for l in "${lines[@]}"; do
  read -r _ version _ <<<"$l"
  [ "$version" = "$system_version" ] || install_node_line "$version"
done

cd "$ROOT"
log "lint"
npm run -s lint
log "type-check"
npm run -s typecheck

if [ $# -eq 0 ]; then set -- test/*.test.mjs; fi
mkdir -p test/artifacts

# run_line MAJOR VERSION BIN FILE...: the tests on one line into the line's log (and on stdout
# when OTELKIT_STREAM=1). The line's bin directory comes first in PATH, so a test that runs
# `node` gets that line's too. One file at a time within a line, as before: the integration
# tests' timing and memory bounds were set for files that do not share the CPU with each other.
run_line() {
  local major="$1" version="$2" bin="$3"; shift 3
  local start rc=0 log="test/artifacts/node-$major.log"
  export OTELKIT_TEST_ARTIFACTS="$ROOT/test/artifacts/node-$major"
  rm -f "test/artifacts/node-$major.status"
  start="$(date +%s)"
  if [ "${OTELKIT_STREAM:-0}" = 1 ]; then
    PATH="$(dirname "$bin"):$PATH" "$bin" --test --test-concurrency=1 --test-reporter=spec "$@" 2>&1 | tee "$log" \
      || rc="${PIPESTATUS[0]}"
  else
    PATH="$(dirname "$bin"):$PATH" "$bin" --test --test-concurrency=1 --test-reporter=spec "$@" >"$log" 2>&1 || rc=$?
  fi
  printf '%s %s %s\n' "$rc" "$start" "$(date +%s)" >"test/artifacts/node-$major.status"
}

status_of() { # MAJOR -> "rc seconds"
  local rc start end
  read -r rc start end <"test/artifacts/node-$1.status"
  printf '%s %s\n' "$rc" "$((end - start))"
}

count() { # MAJOR NAME: the spec reporter's final "ℹ NAME N"
  local n
  n="$(grep -aE "^ℹ $2 [0-9]+$" "test/artifacts/node-$1.log" | tail -n 1 | awk '{print $3}')"
  printf '%s\n' "${n:--}"
}

if [ "${OTELKIT_TEST_PARALLEL:-1}" = 1 ] && [ ${#lines[@]} -gt 1 ]; then
  log "tests: ${#lines[@]} lines side by side"
  pids=()
  for l in "${lines[@]}"; do
    read -r major version bin <<<"$l"
    run_line "$major" "$version" "$bin" "$@" &
    pids+=("$!")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || true
    log "tests on Node $(read -r _ v _ <<<"${lines[$i]}"; echo "$v") ended"
  done
  for l in "${lines[@]}"; do
    read -r major version _ <<<"$l"
    printf '\n===== Node %s (line %s) =====\n' "$version" "$major"
    cat "test/artifacts/node-$major.log"
  done
else
  for l in "${lines[@]}"; do
    read -r major version bin <<<"$l"
    log "tests on Node $version"
    printf '\n===== Node %s (line %s) =====\n' "$version" "$major"
    OTELKIT_STREAM=1 run_line "$major" "$version" "$bin" "$@"
  done
fi

failed=0
printf '\n===== summary =====\n'
printf '%-5s %-9s %6s %6s %6s %10s %9s  %s\n' line node tests pass fail cancelled duration result
for l in "${lines[@]}"; do
  read -r major version _ <<<"$l"
  read -r rc secs < <(status_of "$major")
  result=ok
  if [ "$rc" != 0 ]; then result="FAILED (exit $rc)"; failed=1; fi
  printf '%-5s %-9s %6s %6s %6s %10s %8ss  %s\n' "$major" "$version" "$(count "$major" tests)" \
    "$(count "$major" pass)" "$(count "$major" fail)" "$(count "$major" cancelled)" "$secs" "$result"
done
exit "$failed"
