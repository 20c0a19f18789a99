#!/usr/bin/env bash
# Build the dashboard into dashboard/dist when its sources changed (Node.js >= 20.19 and npm).
# Without a recent enough Node it says so in one line and the API serves a page explaining it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dashboard/package.json ] || exit 0
cd dashboard
if ! command -v node >/dev/null || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "dashboard not built: needs Node.js >= 20.19 with npm (found: $(node --version 2>/dev/null || echo none))" >&2
  [ -z "${CI:-}" ] || exit 1
  exit 0
fi
stamp=dist/.source-hash
# The types are generated from the contract's schemas (dashboard/schemas/contract.json), so they count as sources.
hash=$(cat package-lock.json $(git ls-files src scripts index.html '*.ts' '*.json' ../contract 2>/dev/null | sort) 2>/dev/null | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then exit 0; fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
echo "$hash" > "$stamp"
