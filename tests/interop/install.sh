#!/usr/bin/env bash
# Installs the interop suite's browser drivers (package-lock.json) into
# tests/interop/node_modules with `npm ci`. Idempotent: does nothing when
# node_modules was installed from this very lockfile. Never downloads a
# browser: the suite drives Debian's /usr/bin/chromium and
# /usr/bin/firefox-esr.
#
# Usage: tests/interop/install.sh      (make check and make demo call it)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

stamp=node_modules/.palaver-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/playwright-core ] \
   && [ -d node_modules/puppeteer-core ]; then
  exit 0
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "tests/interop/install.sh: $tool not found (Debian package nodejs; npm comes with Node.js 20)" >&2
    exit 1
  fi
done

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "tests/interop/install.sh: Node.js $(node --version) is too old: playwright-core needs 20 or later" >&2
  exit 1
fi

echo "tests/interop/install.sh: npm ci (playwright-core, puppeteer-core; no browser download)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
# Install scripts stay off: none of the pinned packages needs one, and a
# driver's install script is where a browser download would hide.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
