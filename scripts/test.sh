#!/usr/bin/env bash
# The whole test suite, with the real services the tests need (Mosquitto is started by
# the fixtures; PostgreSQL and Chromium are installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x scripts/ci-postgres.sh ] && [ -z "${FOREWARN_TEST_POSTGRES_URL:-}" ]; then
  FOREWARN_TEST_POSTGRES_URL="$(scripts/ci-postgres.sh)" && export FOREWARN_TEST_POSTGRES_URL
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
