#!/usr/bin/env bash
# Run the whole stack in the foreground with honcho (Procfile); Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .env ]; then set -a; . ./.env; set +a; fi
export FOREWARN_LOG_DIR="${FOREWARN_LOG_DIR:-var/log}" FOREWARN_WORKER_ID="${FOREWARN_WORKER_ID:-1}"
procs="broker worker api slave1 slave2 sim1"
if [ -n "${TELEGRAM_BOT_TOKEN:-}" ]; then
  procs="$procs bot"
else
  echo "telegram bot not started: set TELEGRAM_BOT_TOKEN and TELEGRAM_ALLOWED_CHAT_IDS (environment or .env) to enable it"
fi
echo "dashboard and API: http://localhost:${FOREWARN_API_PORT:-8000}   broker: mqtts://localhost:${FOREWARN_MQTT_PORT:-8883}"
# shellcheck disable=SC2086
exec .venv/bin/honcho start -f Procfile $procs
