#!/usr/bin/env bash
# Start a throwaway local PostgreSQL for the test suite and print its SQLAlchemy URL.
#
#   export FOREWARN_TEST_POSTGRES_URL="$(bash scripts/ci-postgres.sh)"
#   bash scripts/ci-postgres.sh --stop      # stop the cluster again
#
# Installs Debian's postgresql with apt-get when it is missing, then creates (once) and
# starts a cluster of its own, `forewarn_ci`, on a free loopback port, so it never touches
# a `main` cluster the machine may already run. Each call resets the password of the
# `forewarn` role and recreates nothing else. Needs root (CI and this machine run as root).
# Only the URL goes to stdout; progress goes to stderr.
set -euo pipefail

CLUSTER=forewarn_ci
DB=forewarn
ROLE=forewarn

say() { echo "ci-postgres: $*" >&2; }

install_if_missing() {
    if command -v pg_createcluster >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        return
    fi
    say "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cluster_line() {
    # "version port status" of our cluster, empty when it does not exist
    pg_lsclusters --no-header 2>/dev/null | awk -v c="$CLUSTER" '$2 == c {print $1, $3, $4}'
}

as_postgres() { runuser -u postgres -- "$@"; }

if [ "$(id -u)" != 0 ]; then
    say "must run as root (it installs packages and runs the cluster as the postgres user)"
    exit 1
fi

install_if_missing
if [ "${1:-}" = "--stop" ]; then
    read -r version _port _status <<<"$(cluster_line)" || true
    [ -n "${version:-}" ] && pg_ctlcluster "$version" "$CLUSTER" stop >&2 || true
    exit 0
fi

if [ -z "$(cluster_line)" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    port=$(free_port)
    say "creating cluster $version/$CLUSTER on port $port"
    pg_createcluster "$version" "$CLUSTER" -p "$port" -- --auth-local=peer --auth-host=scram-sha-256 >&2
    # loopback only, and small: it is a test database on a shared machine
    pg_conftool "$version" "$CLUSTER" set listen_addresses localhost >&2
    pg_conftool "$version" "$CLUSTER" set fsync off >&2
    pg_conftool "$version" "$CLUSTER" set synchronous_commit off >&2
fi
read -r version port status <<<"$(cluster_line)"
if [ "$status" != online ]; then
    say "starting cluster $version/$CLUSTER on port $port"
    pg_ctlcluster "$version" "$CLUSTER" start >&2
fi

password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
as_postgres psql -q -p "$port" -v ON_ERROR_STOP=1 -d postgres >&2 <<SQL
SELECT 'CREATE ROLE $ROLE LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE')\gexec
ALTER ROLE $ROLE LOGIN PASSWORD '$password';
SELECT 'CREATE DATABASE $DB OWNER $ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB')\gexec
SQL
echo "postgresql+psycopg2://$ROLE:$password@127.0.0.1:$port/$DB"
