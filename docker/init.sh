#!/bin/sh
# The one-shot `init` service of compose.yaml: makes what a fresh stack lacks, keeps the rest.
#
#   - the development CA, the broker's server certificate and the stack's broker users with
#     their passwords (python -m broker init), in the broker-config and credentials volumes
#     (credentials is init's alone: the broker admin's password is there too), and each
#     sensor's machine profile binding in the registry volume (default ai4i-mill);
#   - the `broker-health` account (viewer) that the broker's health check logs in with, its
#     password in the broker's own volume (the broker container reads it, no one else);
#   - the API's write token, when there is none;
#   - each service's own secrets in its own volume (service-secrets/<service>): its broker
#     password(s), the CA certificate, and for the API and the bot the API's write token;
#   - the model (python -m training) when there is none, and the shipped turbofan RUL model.
#
# Runs as the image's non-root user; every setting comes from the environment compose gives.
set -eu

var_dir="${FOREWARN_VAR_DIR:?FOREWARN_VAR_DIR must be set}"
broker_config="${FOREWARN_BROKER_DIR:-$var_dir/broker}/config"
secrets_dir="${FOREWARN_SECRETS_DIR:-$var_dir/secrets}"
models_dir="${FOREWARN_MODELS_DIR:-$var_dir/models}"
health_dir="$broker_config/health"
service_secrets="$var_dir/service-secrets"

# put FOLDER FILE...: copy files of the credentials volume into FOLDER, private, atomically.
put() {
    folder="$1"; shift
    mkdir -p "$folder"
    chmod 700 "$folder"
    for file in "$@"; do
        (umask 077; cp "$secrets_dir/$file" "$folder/.$file.tmp")
        mv "$folder/.$file.tmp" "$folder/$file"
    done
}

python -m broker init

cp "$broker_config/tls/ca.crt" "$secrets_dir/.ca.crt.tmp"
mv "$secrets_dir/.ca.crt.tmp" "$secrets_dir/ca.crt"

if [ ! -s "$health_dir/broker-health.password" ] || ! python -m broker list-users | grep -q '^broker-health viewer$'; then
    python -m broker add-user broker-health --role viewer --save
    put "$health_dir" broker-health.password
fi

# The API's write token (acknowledging alerts), unless the operator sets FOREWARN_API_TOKEN.
if [ ! -s "$secrets_dir/api.token" ]; then
    (umask 077; python -c 'import secrets; print(secrets.token_urlsafe(32))' > "$secrets_dir/api.token")
    echo "generated the API write token in the credentials volume (api.token)"
fi

# Each service gets its own, and only its own (compose.yaml mounts these read-only).
workers=$(cd "$secrets_dir" && ls inference-worker-*.password)
# shellcheck disable=SC2086 # one word per file name
put "$service_secrets/inference-worker" ca.crt $workers
put "$service_secrets/api" ca.crt api.password api.token
put "$service_secrets/telegram-bot" ca.crt telegram-bot.password api.token
put "$service_secrets/publisher-slave1" ca.crt slave1.password
put "$service_secrets/publisher-slave2" ca.crt slave2.password
put "$service_secrets/simulator" ca.crt sim-1.password
put "$service_secrets/publisher-turbofan-1" ca.crt turbofan-1.password
put "$service_secrets/publisher-turbofan-2" ca.crt turbofan-2.password

if [ -f "$models_dir/current" ]; then
    echo "model $(cat "$models_dir/current") in place"
else
    echo "no model yet: training one on the shipped data (a minute or two)"
    python -m training --models-dir "$models_dir"
fi
# The turbofan engines' RUL model ships in the tree (data/models): installed where none is.
python -m training install-shipped --models-dir "$models_dir"
echo "init done"
