# syntax=docker/dockerfile:1
# One image for every Forewarn Python service (init, inference-worker, api, publishers,
# telegram-bot); compose.yaml picks the command. The dashboard is built in a Node stage and
# only its static files reach the final image: no Node at run time.
#
#   docker build -t forewarn:0.1.0 .        (compose.yaml does this for you)
#
# No secret is baked in: certificates, passwords and the model are made at run time by the
# `init` service into named volumes.

FROM node:20.20.2-bookworm-slim AS dashboard
WORKDIR /build/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
# gen-types (run before every build) reads the contract's JSON Schemas from
# dashboard/schemas/contract.json (kept current by python -m contract schema and a test).
COPY dashboard/ ./
RUN npm run build

FROM python:3.11.13-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Runtime dependencies only (pyproject's [project].dependencies), at the versions of the lock.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/runtime-requirements.txt \
    && pip install -r /tmp/runtime-requirements.txt -c requirements.lock \
    && rm /tmp/runtime-requirements.txt

# uid/gid 1883 is the `mosquitto` user of the official Mosquitto image: `init` writes the
# broker's password file, ACL and server key (mode 0600) and the broker, running as the same
# non-root user, can read them. Nothing in the stack runs as root.
ARG FOREWARN_UID=1883
RUN groupadd --system --gid "${FOREWARN_UID}" forewarn \
    && useradd --system --uid "${FOREWARN_UID}" --gid forewarn --home-dir /var/lib/forewarn \
        --shell /usr/sbin/nologin forewarn \
    && install -d -o forewarn -g forewarn -m 0750 /var/lib/forewarn /var/lib/forewarn/broker \
        /var/lib/forewarn/broker/config /var/lib/forewarn/models \
        /var/lib/forewarn/api /var/lib/forewarn/outbox /var/lib/forewarn/telegram_bot \
    && install -d -o forewarn -g forewarn -m 0700 /var/lib/forewarn/secrets /var/lib/forewarn/service-secrets \
        /var/lib/forewarn/service-secrets/inference-worker /var/lib/forewarn/service-secrets/api \
        /var/lib/forewarn/service-secrets/telegram-bot /var/lib/forewarn/service-secrets/publisher-slave1 \
        /var/lib/forewarn/service-secrets/publisher-slave2 /var/lib/forewarn/service-secrets/simulator
# (Each of those folders is a mount point: a new named volume takes its owner and mode from it.)

# The code stays owned by root: the services can read it, not change it.
COPY mosquitto.conf ./
COPY data/ data/
COPY contract/ contract/
COPY profiles/ profiles/
COPY common/ common/
COPY broker/ broker/
COPY model/ model/
COPY training/ training/
COPY inference_worker/ inference_worker/
COPY publisher/ publisher/
COPY api/ api/
COPY telegram_bot/ telegram_bot/
COPY webhooks/ webhooks/
COPY docker/ docker/
COPY --from=dashboard /build/dashboard/dist/ dashboard/dist/

USER forewarn
CMD ["python", "-m", "api"]
