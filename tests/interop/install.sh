#!/usr/bin/env bash
# Installs the interop suite's browser drivers (package-lock.json) into
# tests/interop/node_modules with `npm ci`. Idempotent: does nothing when
# node_modules was installed from this very lockfile. Never downloads a
# browser: the suite drives Debian's /usr/bin/chromium and
# /usr/bin/firefox-esr.
#
# Needs Node.js 18 or later: Debian 12's own nodejs (18), whose npm is the
# separate Debian package npm, or NodeSource's (20, npm included). When no
# `npm` command exists, Debian's npm is installed through .ci/install-deps
# (.ci/debian-packages-npm.txt); never when one does, as Debian's npm
# conflicts with NodeSource's nodejs.
#
# Usage: tests/interop/install.sh      (make check and make demo call it)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"

stamp=node_modules/.palaver-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/playwright-core ] \
   && [ -d node_modules/puppeteer-core ]; then
  exit 0
fi

if ! command -v node >/dev/null 2>&1; then
  echo "tests/interop/install.sh: node not found (Debian package nodejs: make deps installs it)" >&2
  exit 1
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
  echo "tests/interop/install.sh: Node.js $(node --version) is too old: playwright-core and puppeteer-core need 18 or later" >&2
  exit 1
fi

if ! command -v npm >/dev/null 2>&1; then
  "$root/.ci/install-deps" "$root/.ci/debian-packages-npm.txt"
  hash -r
  if ! command -v npm >/dev/null 2>&1; then
    echo "tests/interop/install.sh: npm not found, even after installing the Debian package npm" >&2
    exit 1
  fi
fi

echo "tests/interop/install.sh: npm ci (playwright-core, puppeteer-core; no browser download)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
# Install scripts stay off: none of the pinned packages needs one, and a
# driver's install script is where a browser download would hide.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
