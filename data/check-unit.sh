#!/bin/sh
# Test: `systemd-analyze verify` accepts the palaver-server unit.
# Usage: check-unit.sh UNIT-FILE
# The unit given is a copy whose ExecStart points at the build tree's
# palaver-server, since verify needs the binary to exist.
# Exit 77 (meson: skipped) where systemd-analyze is not installed.
set -eu
unit=$1
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not found: skipped"
  exit 77
fi
# verify loads the unit by its file name; give it the real one in a
# private folder so that nothing else of the build tree is picked up.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$unit" "$dir/palaver-server.service"
out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$dir/palaver-server.service" 2>&1) || {
  printf '%s\n' "$out"
  echo "systemd-analyze verify failed"
  exit 1
}
# verify exits 0 on some problems it only warns about (an unknown key, a
# bad value); treat any output about our unit as a failure.
if printf '%s\n' "$out" | grep -q 'palaver-server'; then
  printf '%s\n' "$out"
  echo "systemd-analyze verify reported problems"
  exit 1
fi
printf '%s\n' "$out"
echo "ok: palaver-server.service verified"
