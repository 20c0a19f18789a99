#!/usr/bin/env bash
# Run the whole stack in the foreground with honcho (Procfile); Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .env ]; then set -a; . ./.env; set +a; fi
export FOREWARN_LOG_DIR="${FOREWARN_LOG_DIR:-${FOREWARN_VAR_DIR:-var}/log}" FOREWARN_WORKER_ID="${FOREWARN_WORKER_ID:-1}"
# The API's write token (acknowledging alerts from the dashboard or the bot): made once, kept private.
token_file="${FOREWARN_VAR_DIR:-var}/secrets/api.token"
case "$token_file" in /*) ;; *) token_file="$PWD/$token_file" ;; esac  # FOREWARN_VAR_DIR may be absolute
if [ -z "${FOREWARN_API_TOKEN:-}" ] && [ ! -s "$token_file" ]; then
  mkdir -p "$(dirname "$token_file")"
  (umask 077; .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))' > "$token_file")
fi
[ -n "${FOREWARN_API_TOKEN:-}" ] || export FOREWARN_API_TOKEN_FILE="${FOREWARN_API_TOKEN_FILE:-$token_file}"
procs="broker worker api slave1 slave2 sim1 turbofan1 turbofan2"
if [ -n "${TELEGRAM_BOT_TOKEN:-}" ]; then
  procs="$procs bot"
else
  echo "telegram bot not started: set TELEGRAM_BOT_TOKEN and TELEGRAM_ALLOWED_CHAT_IDS (environment or .env) to enable it"
fi
echo "dashboard and API: http://localhost:${FOREWARN_API_PORT:-8000}   broker: mqtts://localhost:${FOREWARN_MQTT_PORT:-8883}"
echo "API write token (to acknowledge alerts): ${FOREWARN_API_TOKEN_FILE:-\$FOREWARN_API_TOKEN}"
# shellcheck disable=SC2086
exec .venv/bin/honcho start -f Procfile $procs
