#!/usr/bin/env bash
# The whole test suite (after `make lint`): the dashboard's Vitest tests, then pytest with the
# real services the tests need (Mosquitto and nginx are started by the fixtures; PostgreSQL,
# Chromium, socat and nginx are installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser tests drive Debian's Chromium (never a downloaded browser); the Modbus RTU test
# talks over a virtual serial pair made by socat; tests/reliability/test_api_proxy.py runs
# Debian's nginx with docs/nginx-forewarn.conf (in /usr/sbin, often not on a user's PATH).
missing=""
command -v chromium >/dev/null || missing="$missing chromium"
command -v socat >/dev/null || missing="$missing socat"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$missing nginx"
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  # shellcheck disable=SC2086
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
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
