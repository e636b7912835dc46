#!/usr/bin/env bash
# Builds the otelkit collector distribution (collector/_build/otelcol-otelkit) from
# collector/builder-config.yaml with the OpenTelemetry Collector Builder (ocb).
#
# - The builder version is taken from the manifest (the version of the OTLP receiver), so the
#   manifest is the single place where the collector version is pinned.
# - The binary is reused while the manifest, this script and the Go version are unchanged
#   (hash kept in collector/_build/.stamp); delete collector/_build to force a rebuild.
# - Quiet unless something fails (the full log is then in collector/_build/build.log); on success
#   it prints one line with the path of the binary.
# - Needs Go (see the generated go.mod for the minimum) and access to the Go module proxy.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MANIFEST="$HERE/builder-config.yaml"
BUILD_DIR="$HERE/_build"
DIST_NAME="otelcol-otelkit"
BIN="$BUILD_DIR/$DIST_NAME"
STAMP="$BUILD_DIR/.stamp"
LOG="$BUILD_DIR/build.log"
GOBIN_DIR="$BUILD_DIR/bin"

fail() { printf 'collector/build.sh: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || fail "Go is required to build the collector (https://go.dev/dl/); 'go' not found in PATH"
[ -f "$MANIFEST" ] || fail "manifest not found: $MANIFEST"

BUILDER_VERSION="$(grep -m1 -oE 'go\.opentelemetry\.io/collector/receiver/otlpreceiver v[0-9]+\.[0-9]+\.[0-9]+' "$MANIFEST" | awk '{print $2}')"
[ -n "$BUILDER_VERSION" ] || fail "cannot read the collector version from $MANIFEST (otlpreceiver gomod line)"

mkdir -p "$BUILD_DIR"

# No VCS stamping: the generated module sits inside this repository's work tree, and `go build`
# fails on CI checkouts owned by another user ("error obtaining VCS status").
case " ${GOFLAGS:-} " in
  *" -buildvcs="*) ;;
  *) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" ;;
esac

# One build at a time (two test runners starting together must not clobber each other).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$BUILD_DIR/.lock"
  flock 9
fi

want="$( { cat "$MANIFEST" "${BASH_SOURCE[0]}"; go env GOVERSION GOOS GOARCH; } | sha256sum | cut -d' ' -f1)"
if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "collector: $BIN (up to date)"
  exit 0
fi

# A binary that does not match the manifest must not outlive a failed build.
rm -f "$BIN" "$STAMP"
: > "$LOG"
run() { "$@" >>"$LOG" 2>&1 || { echo "collector/build.sh: failed: $*" >&2; tail -n 40 "$LOG" >&2; echo "collector/build.sh: full log in $LOG" >&2; exit 1; }; }

start=$SECONDS

# The builder, pinned to the manifest's version, installed next to the build output.
BUILDER="$GOBIN_DIR/builder"
if ! [ -x "$BUILDER" ] || ! "$BUILDER" version 2>/dev/null | grep -qF "$BUILDER_VERSION"; then
  run env GOBIN="$GOBIN_DIR" go install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION"
fi

# Generate the sources into _build/src and compile them (the builder already uses -trimpath and
# -ldflags="-s -w"; CGO is off, so the binary is static).
rm -rf "$BUILD_DIR/src"
mkdir -p "$BUILD_DIR/src"
(cd "$HERE" && run "$BUILDER" --config="$MANIFEST")
[ -x "$BUILD_DIR/src/$DIST_NAME" ] || fail "the builder did not produce $BUILD_DIR/src/$DIST_NAME (log: $LOG)"
mv -f "$BUILD_DIR/src/$DIST_NAME" "$BIN"
run "$BIN" components
echo "$want" > "$STAMP"
echo "collector: $BIN (built in $((SECONDS - start))s)"
