"""Settings of the API: the only module that reads the environment.

| variable | default | meaning |
|---|---|---|
| FOREWARN_API_HOST / FOREWARN_API_PORT | 127.0.0.1 / 8000 | where waitress listens |
| FOREWARN_DATABASE_URL | sqlite under $FOREWARN_VAR_DIR/api/forewarn.db | SQLite (WAL) or postgresql://... |
| FOREWARN_API_TOKEN (or FOREWARN_API_TOKEN_FILE) | unset | bearer token of write routes; unset: writes answer 503 |
| FOREWARN_API_READ_TOKEN_REQUIRED | false | reads need the same token too |
| FOREWARN_CORS_ORIGINS | none | comma list of origins allowed to call the API from a browser |
| FOREWARN_RETENTION_DAYS | 30 | history older than this is pruned in the background |
| FOREWARN_OFFLINE_AFTER_S | 60 | a machine silent this long is shown offline |
| FOREWARN_API_THREADS | 16 | waitress threads for everything but event streams |
| FOREWARN_API_MAX_STREAMS | 100 | event streams open at once, all clients together (each has a thread of its own) |
| FOREWARN_API_MAX_STREAMS_PER_CLIENT | 5 | event streams open at once from one client address |
| FOREWARN_API_MAX_CONNECTIONS | 900 | open connections, all clients (waitress stops accepting beyond); at most 900 |
| FOREWARN_API_MAX_CONNECTIONS_PER_CLIENT | 50 | open connections from one address; more are closed at once |
| FOREWARN_API_IDLE_TIMEOUT_S | 10 | a connection with no request running is closed after this much silence |
| FOREWARN_API_TRUSTED_PROXIES | none | proxies (addresses, networks) whose X-Forwarded-For names the client |
| FOREWARN_API_ALLOWED_HOSTS | none | host names the API answers to besides localhost, 127.0.0.1 and ::1 |
| FOREWARN_DASHBOARD_DIR | dashboard/dist | the dashboard's built files, served at / |
| FOREWARN_REGISTRY_DIR | $FOREWARN_VAR_DIR/registry | machine -> profile bindings and operator-added profiles |
| FOREWARN_DEFAULT_PROFILE | ai4i-mill | the profile of the fleet-wide drift report when none is asked |
| FOREWARN_MODELS_DIR | $FOREWARN_VAR_DIR/models | model cards (drift, Models view); promote, rollback move pointers |
| FOREWARN_ALERT_CLEAR_AFTER | 5 | the worker's alert rule, replayed when comparing champion and challenger |
| FOREWARN_MQTT_* | username `api` (also its client id) | the broker session (viewer role, TLS) |
| FOREWARN_API_SESSION_EXPIRY_S | 86400 | persistent MQTT session |
| FOREWARN_API_BATCH_WAIT_MS | 100 | how long the writer gathers messages into one transaction (0: none) |
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from api.clients import Network, parse_networks
from common.mqtt import MqttSettings, settings_from_env
from common.settings import ConfigError, env_float, env_int, env_optional_secret, env_path, env_str, var_dir
from contract import DEFAULT_PREFIX, DEFAULT_PROFILE, Topics

__all__ = ["LOCAL_HOSTS", "MIN_TOKEN_LENGTH", "ApiConfig", "database_url", "default_dashboard_dir", "load"]

MIN_TOKEN_LENGTH = 16
# The Host names always answered; others must be configured, so a hostile page cannot read the
# API through a DNS name of its own rebound to this machine (DNS rebinding).
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# The broker session's client (paho) waits on select(), which cannot watch a descriptor past
# 1,024: with more connections open, a reconnect during a flood would get such a descriptor.
MAX_CONNECTIONS = 900
MAX_BATCH_WAIT_MS = 1_000  # the dashboards' promise: a reading on screen within a second
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def default_dashboard_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "dashboard" / "dist"


@dataclass(frozen=True)
class ApiConfig:
    """Everything the API needs; tests build one directly instead of using the environment."""

    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    write_token: str | None = None
    read_token_required: bool = False
    cors_origins: tuple[str, ...] = ()
    retention_days: float = 30.0
    offline_after_s: float = 60.0
    mqtt: MqttSettings | None = None  # None: no ingest (tests feed the store directly)
    topics: Topics = field(default_factory=Topics)
    dashboard_dir: Path = field(default_factory=default_dashboard_dir)
    threads: int = 16  # for everything but event streams, which get threads of their own
    max_streams: int = 100
    max_streams_per_client: int = 5
    max_connections: int = MAX_CONNECTIONS
    max_connections_per_client: int = 50
    idle_timeout_s: int = 10
    trusted_proxies: tuple[Network, ...] = ()
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS
    write_rate_per_s: float = 10.0
    write_burst: int = 20
    event_buffer: int = 10_000
    keepalive_s: float = 15.0
    housekeeping: bool = True  # background pruning and offline sweep
    prune_interval_s: float = 3600.0
    batch_rows: int = 500
    batch_wait_ms: float = 0.0  # the environment's default is 100 (load): tests feeding the store want it at once
    models_dir: Path | None = None  # model cards (drift report, Models view); pointers moved by promote/rollback
    alert_clear_after: int = 5  # the worker's alert rule, replayed by the models' comparison
    registry_dir: Path | None = None  # machine bindings and operator profiles; None: the built-in profiles only
    default_profile: str = DEFAULT_PROFILE

    def __post_init__(self) -> None:
        if self.write_token is not None and len(self.write_token) < MIN_TOKEN_LENGTH:
            raise ConfigError(f"FOREWARN_API_TOKEN must be at least {MIN_TOKEN_LENGTH} characters")
        if self.read_token_required and not self.write_token:
            raise ConfigError("FOREWARN_API_READ_TOKEN_REQUIRED=true needs FOREWARN_API_TOKEN")
        if self.batch_wait_ms > MAX_BATCH_WAIT_MS:
            raise ConfigError(
                f"FOREWARN_API_BATCH_WAIT_MS={self.batch_wait_ms:g} is over {MAX_BATCH_WAIT_MS}:"
                " every message would wait that long before it is stored and shown"
            )
        if self.max_connections > MAX_CONNECTIONS:
            raise ConfigError(
                f"FOREWARN_API_MAX_CONNECTIONS={self.max_connections} is over {MAX_CONNECTIONS}: the broker"
                " session's client cannot use descriptors past 1,024 (run more API instances instead)"
            )
        if self.max_connections_per_client >= self.max_connections:
            raise ConfigError(
                f"FOREWARN_API_MAX_CONNECTIONS_PER_CLIENT={self.max_connections_per_client} must be below"
                f" FOREWARN_API_MAX_CONNECTIONS={self.max_connections}: one address must not take them all"
            )


def load() -> ApiConfig:
    """Read the API's settings from the environment; ConfigError names a bad one."""
    state = var_dir()
    return ApiConfig(
        database_url=database_url(),
        host=env_str("FOREWARN_API_HOST", "127.0.0.1"),
        port=env_int("FOREWARN_API_PORT", 8000, minimum=1),
        write_token=env_optional_secret("FOREWARN_API_TOKEN"),
        read_token_required=_env_bool("FOREWARN_API_READ_TOKEN_REQUIRED", False),
        cors_origins=_origins(env_str("FOREWARN_CORS_ORIGINS", "")),
        retention_days=env_float("FOREWARN_RETENTION_DAYS", 30.0, minimum=0.001),
        offline_after_s=env_float("FOREWARN_OFFLINE_AFTER_S", 60.0, minimum=1.0),
        mqtt=_mqtt_settings(state),
        topics=Topics(env_str("FOREWARN_TOPIC_PREFIX", DEFAULT_PREFIX)),
        dashboard_dir=env_path("FOREWARN_DASHBOARD_DIR", default_dashboard_dir()),
        threads=env_int("FOREWARN_API_THREADS", 16, minimum=4),
        max_streams=env_int("FOREWARN_API_MAX_STREAMS", 100, minimum=1),
        max_streams_per_client=env_int("FOREWARN_API_MAX_STREAMS_PER_CLIENT", 5, minimum=1),
        max_connections=env_int("FOREWARN_API_MAX_CONNECTIONS", MAX_CONNECTIONS, minimum=10),
        max_connections_per_client=env_int("FOREWARN_API_MAX_CONNECTIONS_PER_CLIENT", 50, minimum=2),
        idle_timeout_s=env_int("FOREWARN_API_IDLE_TIMEOUT_S", 10, minimum=1),
        trusted_proxies=_networks("FOREWARN_API_TRUSTED_PROXIES"),
        allowed_hosts=LOCAL_HOSTS + _host_names(env_str("FOREWARN_API_ALLOWED_HOSTS", "")),
        models_dir=env_path("FOREWARN_MODELS_DIR", state / "models"),
        alert_clear_after=env_int("FOREWARN_ALERT_CLEAR_AFTER", 5, minimum=1),
        registry_dir=env_path("FOREWARN_REGISTRY_DIR", state / "registry"),
        default_profile=env_str("FOREWARN_DEFAULT_PROFILE", DEFAULT_PROFILE),
        batch_wait_ms=env_float("FOREWARN_API_BATCH_WAIT_MS", 100.0, minimum=0.0),
    )


def database_url() -> str:
    """FOREWARN_DATABASE_URL, or the SQLite file under the var folder."""
    return env_str("FOREWARN_DATABASE_URL", f"sqlite:///{var_dir() / 'api' / 'forewarn.db'}")


def _mqtt_settings(state: Path) -> MqttSettings:
    username = env_str("FOREWARN_MQTT_USERNAME", "api")
    return settings_from_env(
        username,
        client_id=username,  # the broker binds each account to one client id, its name
        session_expiry_s=env_int("FOREWARN_API_SESSION_EXPIRY_S", 86_400, minimum=60),
    )


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false")


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        if origin == "*" or not origin.startswith(("http://", "https://")) or "/" in origin.split("://", 1)[1]:
            raise ConfigError(
                f"FOREWARN_CORS_ORIGINS: {origin!r} must be an origin like https://host:port ('*' is refused)"
            )
    return origins


def _networks(name: str) -> tuple[Network, ...]:
    try:
        return parse_networks(item for item in env_str(name, "").split(",") if item.strip())
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _host_names(raw: str) -> tuple[str, ...]:
    names = tuple(part.strip().lower().strip("[]").rstrip(".") for part in raw.split(",") if part.strip())
    for name in names:
        if not (_HOST_NAME.fullmatch(name) or _is_ipv6(name)):
            raise ConfigError(f"FOREWARN_API_ALLOWED_HOSTS: {name!r} must be a host name or address, without a port")
    return names


def _is_ipv6(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).version == 6
    except ValueError:
        return False
