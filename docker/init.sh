#!/bin/sh
# The one-shot `init` service of compose.yaml: makes what a fresh stack lacks, keeps the rest.
#
#   - the development CA, the broker's server certificate and the stack's broker users with
#     their passwords (python -m broker init), in the broker-config and credentials volumes,
#     and each sensor's machine profile binding in the registry volume (default ai4i-mill);
#   - a copy of the CA certificate beside the passwords, for the clients to trust;
#   - the `broker-health` account (viewer) that the broker's health check logs in with, its
#     password in the broker's own volume (the broker container reads it, no one else);
#   - the API's write token, when there is none;
#   - the model (python -m training) when there is none.
#
# Runs as the image's non-root user; every setting comes from the environment compose gives.
set -eu

var_dir="${FOREWARN_VAR_DIR:?FOREWARN_VAR_DIR must be set}"
broker_config="${FOREWARN_BROKER_DIR:-$var_dir/broker}/config"
secrets_dir="${FOREWARN_SECRETS_DIR:-$var_dir/secrets}"
models_dir="${FOREWARN_MODELS_DIR:-$var_dir/models}"
health_dir="$broker_config/health"

python -m broker init

cp "$broker_config/tls/ca.crt" "$secrets_dir/.ca.crt.tmp"
mv "$secrets_dir/.ca.crt.tmp" "$secrets_dir/ca.crt"

if [ ! -s "$health_dir/broker-health.password" ] || ! grep -q '"broker-health"' "$broker_config/users.json"; then
    FOREWARN_SECRETS_DIR="$health_dir" python -m broker add-user broker-health --role viewer --save
fi

# The API's write token (acknowledging alerts), unless the operator sets FOREWARN_API_TOKEN.
if [ ! -s "$secrets_dir/api.token" ]; then
    (umask 077; python -c 'import secrets; print(secrets.token_urlsafe(32))' > "$secrets_dir/api.token")
    echo "generated the API write token in the credentials volume (api.token)"
fi

if [ -f "$models_dir/current" ]; then
    echo "model $(cat "$models_dir/current") in place"
else
    echo "no model yet: training one on the shipped data (a minute or two)"
    python -m training --models-dir "$models_dir"
fi
echo "init done"
