#!/usr/bin/env bash
# Builds the OpenTelemetry Operator's Node.js injection tree for otelkit into OUT_DIR (the
# directory the image keeps at /autoinstrumentation, deploy/autoinstrumentation/Dockerfile):
#
#   OUT_DIR/autoinstrumentation.js   what the operator's NODE_OPTIONS names:
#                                    --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js
#   OUT_DIR/node_modules/otelkit     this repository's package (npm pack of the current build)
#   OUT_DIR/node_modules/...         its production dependencies, nothing else
#
# The operator's init container copies OUT_DIR's contents (`cp -r /autoinstrumentation/.`) into
# a volume mounted at /otel-auto-instrumentation-nodejs in the application's container, so the
# tree must be self-contained: `require('otelkit/register')` from autoinstrumentation.js resolves
# in OUT_DIR/node_modules, never in the application's own.
#
#   bash scripts/build-autoinstrumentation.sh OUT_DIR
# Needs `npm run build` first (dist/). Used by the Dockerfile and by test/operator-injection.test.mjs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: build-autoinstrumentation.sh OUT_DIR}"

fail() { printf 'build-autoinstrumentation.sh: %s\n' "$*" >&2; exit 1; }
[ -f "$ROOT/dist/register.js" ] || fail "dist/register.js missing: run \`npm run build\` first"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tarball="$(cd "$ROOT" && npm pack --silent --pack-destination "$tmp" | tail -n 1)"
[ -f "$tmp/$tarball" ] || fail "npm pack produced no tarball"

rm -rf "$OUT"
mkdir -p "$OUT"
version="$(node -p 'require(process.argv[1]).version' "$ROOT/package.json")"
cat > "$OUT/package.json" <<JSON
{
  "name": "otelkit-autoinstrumentation",
  "version": "$version",
  "private": true,
  "description": "otelkit for the OpenTelemetry Operator's Node.js injection (built by scripts/build-autoinstrumentation.sh)"
}
JSON
(cd "$OUT" && npm install --omit=dev --omit=optional --no-audit --no-fund --no-save --prefer-offline \
  --loglevel=error "$tmp/$tarball" >/dev/null) || fail "npm install of $tarball failed"
# No command-line tools are needed in the pod, and their symbolic links are not copied faithfully
# by every cp.
rm -rf "$OUT/package-lock.json" "$OUT/node_modules/.bin"

cat > "$OUT/autoinstrumentation.js" <<'JS'
// Loaded by the OpenTelemetry Operator's NODE_OPTIONS
// (--require /otel-auto-instrumentation-nodejs/autoinstrumentation.js) before the application.
// otelkit's CommonJS preload entry, resolved in this directory's node_modules.
'use strict';
require('otelkit/register');
JS
echo "autoinstrumentation tree: $OUT"
