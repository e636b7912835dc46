#!/usr/bin/env bash
# The benchmarks, each measuring its configurations side by side in one run: start-up and
# request throughput (plain node, the official register, otelkit; express and fastify hello worlds and
# the orders service's read path on real PostgreSQL and Redis, exporting to the real collector),
# the logger (bare winston against otelkit's logger), and the span encoding (upstream's
# serialiser against otelkit's).
#
#   HTTP_ROUNDS (3), HTTP_SECONDS (5), HTTP_WORKLOADS (hello,fastify,orders), STARTUP_ROUNDS (10),
#   OTELKIT_BENCH_LINES (all: the running node and scripts/node-lines, e.g. "24" for one)
# bench/http.mjs with the defaults on 3 lines takes about 2 hours (HTTP_ROUNDS=1: ~40 min).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"
apt_ensure wrk wrk taskset util-linux
# PostgreSQL and Redis for the orders workload of bench/http.mjs (the part of setup_backends it
# needs: not Prometheus).
case ",${HTTP_WORKLOADS:-hello,fastify,orders}," in
  *,orders,*)
    apt_ensure redis-server redis-server
    if [ -z "$(pg_bin_dir)" ] || [ ! -x "$(pg_bin_dir)/initdb" ]; then apt_ensure /nonexistent/initdb postgresql; fi
    ;;
esac
setup_npm
setup_build
# The Node lines bench/startup.mjs and bench/http.mjs measure beside the running node
# (scripts/node-lines; OTELKIT_BENCH_LINES picks some).
setup_node_lines
# The export target of bench/http.mjs: the collector, built once (about 3.5 min on 2 cores) and
# reused while up to date. Without it the benchmark exports to a local OTLP sink and says so.
if command -v go >/dev/null 2>&1; then
  setup_collector >&2 || log "collector build failed: bench/http.mjs falls back to a local OTLP sink"
elif [ -x "$ROOT/collector/_build/otelcol-otelkit" ]; then
  log "Go not found: using the collector binary already built"
else
  log "Go not found, no collector binary: bench/http.mjs exports to a local OTLP sink"
fi
cd "$ROOT"
node bench/startup.mjs "${STARTUP_ROUNDS:-10}"
echo
HTTP_WORKLOADS="${HTTP_WORKLOADS:-hello,fastify,orders}" node bench/http.mjs "${HTTP_ROUNDS:-3}" "${HTTP_SECONDS:-5}"
echo
node bench/logger.bench.mjs > /dev/null
echo
node bench/encode.bench.mjs
echo
node bench/replacements.bench.mjs
