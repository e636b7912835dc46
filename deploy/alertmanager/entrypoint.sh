#!/bin/sh
# Renders the Alertmanager configuration template from the environment, then runs Alertmanager.
#
#   entrypoint.sh [alertmanager flags...]      render to $ALERTMANAGER_CONFIG_OUT, exec alertmanager
#   entrypoint.sh --render-only TEMPLATE OUT   render only (used by test/compose.test.mjs)
#
# Each ${NAME} in the template becomes the value of the environment variable NAME, with `\` and `"`
# escaped (values sit in double-quoted YAML strings); comment lines are copied as they are. A variable that is not set is an error, so a
# typo cannot silently send alerts nowhere. POSIX sh and awk only (the image is busybox-based).
set -eu

TEMPLATE="${ALERTMANAGER_CONFIG_TEMPLATE:-/etc/alertmanager/alertmanager.yml}"
OUT="${ALERTMANAGER_CONFIG_OUT:-/alertmanager/alertmanager.yml}"
RENDER_ONLY=0
if [ "${1:-}" = "--render-only" ]; then
  RENDER_ONLY=1
  TEMPLATE="$2"
  OUT="$3"
fi

render() {
  awk '
    /^[ \t]*#/ { print; next }
    {
      line = $0; out = ""
      while (match(line, /\$\{[A-Za-z_][A-Za-z0-9_]*\}/)) {
        name = substr(line, RSTART + 2, RLENGTH - 3)
        if (!(name in ENVIRON)) { printf "entrypoint.sh: %s is not set (used in %s line %d)\n", name, FILENAME, NR > "/dev/stderr"; failed = 1 }
        value = ENVIRON[name]
        escaped = ""
        for (i = 1; i <= length(value); i++) {
          c = substr(value, i, 1)
          if (c == "\\" || c == "\"") escaped = escaped "\\"
          escaped = escaped c
        }
        out = out substr(line, 1, RSTART - 1) escaped
        line = substr(line, RSTART + RLENGTH)
      }
      print out line
    }
    END { if (failed) exit 1 }
  ' "$TEMPLATE" > "$OUT.tmp" || { rm -f "$OUT.tmp"; exit 1; }
  mv "$OUT.tmp" "$OUT"
}

render
if [ "$RENDER_ONLY" = 1 ]; then exit 0; fi
exec /bin/alertmanager --config.file="$OUT" "$@"
