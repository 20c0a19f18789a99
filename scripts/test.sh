#!/usr/bin/env bash
# The whole test suite (after `make lint`): the dashboard's Vitest tests, then pytest with the
# real services the tests need (Mosquitto is started by the fixtures; PostgreSQL and
# Chromium are installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser tests drive Debian's Chromium (never a downloaded browser).
if ! command -v chromium >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
if [ -d dashboard/node_modules ]; then
  (cd dashboard && npm test --silent)
fi
if [ -x scripts/ci-postgres.sh ] && [ -z "${FOREWARN_TEST_POSTGRES_URL:-}" ]; then
  FOREWARN_TEST_POSTGRES_URL="$(scripts/ci-postgres.sh)" && export FOREWARN_TEST_POSTGRES_URL
fi
# Everything runs, tests/reliability's long fault runs (marked `slow`, ~7 min) included;
# `scripts/test.sh -m "not slow"` skips them while developing.
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
