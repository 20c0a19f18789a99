"""The publisher's settings: the only place it reads the environment.

    FOREWARN_MQTT_HOST (localhost), FOREWARN_MQTT_PORT (8883), FOREWARN_MQTT_CA (var/broker/config/tls/ca.crt)
    FOREWARN_MQTT_PASSWORD or FOREWARN_MQTT_PASSWORD_FILE (var/secrets/<machine>.password)
    FOREWARN_TOPIC_PREFIX (pdm), FOREWARN_VAR_DIR (var)
    FOREWARN_REGISTRY_DIR (var/registry)        where operator-added profiles are found (--profile)
    FOREWARN_OUTBOX_DIR (var/outbox)            one SQLite file per machine: <machine>.db
    FOREWARN_OUTBOX_MAX_ROWS (100000)           past this the oldest readings are dropped (and counted)
    FOREWARN_OUTBOX_KEEP_ACKED_S (15)           acknowledged readings kept and re-sent after a reconnect, in
                                                case the broker crashed before saving them; must exceed the
                                                broker's autosave_interval (5 s); 0 deletes on acknowledgement
    FOREWARN_MQTT_KEEPALIVE (30)                seconds; the broker announces the machine offline (its last
                                                will) after 1.5x this without a word from the publisher
    FOREWARN_PUBLISHER_MAX_INFLIGHT (100)       unacknowledged messages handed to MQTT at once
    FOREWARN_PUBLISHER_STATS_S (60)             how often the counters are logged
    FOREWARN_PUBLISHER_FLUSH_S (5)               how long a stop waits for the outbox to drain
    FOREWARN_OPCUA_PASSWORD(_FILE)              the OPC UA user's password, when the mapping names a username

The MQTT username and client id are always the machine id: the broker lets a sensor
write only its own topics, and connect only under its own id. One publisher per machine: a
second one for the same machine takes the connection over from the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.mqtt import MqttSettings, settings_from_env
from common.settings import ConfigError, env_float, env_int, env_optional_secret, env_path, env_str, var_dir
from contract import DEFAULT_PREFIX, InvalidName, Topics, validate_name

__all__ = ["PublisherConfig", "load", "opcua_password", "registry_dir"]


@dataclass(frozen=True)
class PublisherConfig:
    """Everything one publisher process needs besides its data source."""

    machine_id: str
    mqtt: MqttSettings
    topics: Topics
    outbox_path: Path
    outbox_max_rows: int
    max_inflight: int
    stats_interval_s: float
    flush_timeout_s: float
    outbox_keep_acked_s: float = 15.0  # 0 in tests that count exact deliveries


def load(machine_id: str) -> PublisherConfig:
    """Read the environment for the publisher of `machine_id`; ConfigError names a bad setting."""
    machine_id = _machine(machine_id)
    state = var_dir()
    return PublisherConfig(
        machine_id=machine_id,
        mqtt=_mqtt(machine_id, state),
        topics=_topics(),
        outbox_path=env_path("FOREWARN_OUTBOX_DIR", state / "outbox") / f"{machine_id}.db",
        outbox_max_rows=env_int("FOREWARN_OUTBOX_MAX_ROWS", 100_000, minimum=1),
        outbox_keep_acked_s=env_float("FOREWARN_OUTBOX_KEEP_ACKED_S", 15.0, minimum=0.0),
        max_inflight=env_int("FOREWARN_PUBLISHER_MAX_INFLIGHT", 100, minimum=1),
        stats_interval_s=env_float("FOREWARN_PUBLISHER_STATS_S", 60.0, minimum=1.0),
        flush_timeout_s=env_float("FOREWARN_PUBLISHER_FLUSH_S", 5.0, minimum=0.0),
    )


def opcua_password() -> str | None:
    """The OPC UA user's password, if one is set."""
    return env_optional_secret("FOREWARN_OPCUA_PASSWORD")


def registry_dir() -> Path:
    """Where operator-added profiles are (for commands that need no machine)."""
    return env_path("FOREWARN_REGISTRY_DIR", var_dir() / "registry")


def _machine(machine_id: str) -> str:
    try:
        return validate_name(machine_id)
    except InvalidName as exc:
        raise ConfigError(f"--machine: {exc}") from None


def _topics() -> Topics:
    try:
        return Topics(env_str("FOREWARN_TOPIC_PREFIX", DEFAULT_PREFIX))
    except InvalidName as exc:
        raise ConfigError(f"FOREWARN_TOPIC_PREFIX: {exc}") from None


def _mqtt(machine_id: str, state: Path) -> MqttSettings:
    # The broker binds each account to one client id, its name (broker/accounts.py).
    return settings_from_env(machine_id, client_id=machine_id)
