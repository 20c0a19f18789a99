#!/usr/bin/env bash
# Build the dashboard into dashboard/dist when its sources changed (Node 18+ and npm needed).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dashboard/package.json ] || exit 0
cd dashboard
if ! command -v npm >/dev/null; then
  echo "dashboard: npm not found; install Node.js 20 (apt-get install -y nodejs npm) to build it" >&2
  exit 1
fi
stamp=dist/.source-hash
hash=$(cat package-lock.json $(git ls-files src scripts index.html '*.ts' '*.json' 2>/dev/null | sort) 2>/dev/null | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then exit 0; fi
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
echo "$hash" > "$stamp"
