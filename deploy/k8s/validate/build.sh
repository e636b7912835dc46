#!/usr/bin/env bash
# Builds deploy/k8s/validate (strict Kubernetes manifest validation) into
# .cache/k8s-validate/validate, reused while its sources, go.mod/go.sum and the Go version are
# unchanged (hash in .cache/k8s-validate/.stamp), as collector/build.sh does for the collector.
# Prints the binary's path on success. Needs Go and access to the Go module proxy on first build.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
OUT_DIR="$ROOT/.cache/k8s-validate"
BIN="$OUT_DIR/validate"
STAMP="$OUT_DIR/.stamp"

command -v go >/dev/null 2>&1 || { echo "deploy/k8s/validate/build.sh: Go is required ('go' not found in PATH)" >&2; exit 1; }
mkdir -p "$OUT_DIR"
exec 9>"$OUT_DIR/.lock"
flock 9

want="$( { cat "$HERE"/go.mod "$HERE"/go.sum "$HERE"/*.go "${BASH_SOURCE[0]}"; go env GOVERSION GOOS GOARCH; } | sha256sum | cut -d' ' -f1)"
if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "$BIN"
  exit 0
fi
rm -f "$BIN" "$STAMP"
(cd "$HERE" && GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false -mod=readonly" go build -trimpath -o "$BIN" .) >&2
echo "$want" > "$STAMP"
echo "$BIN"
