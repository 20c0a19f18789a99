"""Settings of the broker tooling, read from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from broker.runtime import BrokerPaths
from common.settings import env_int, env_path, env_str, var_dir
from contract import DEFAULT_PREFIX, DEFAULT_PROFILE, Topics


@dataclass(frozen=True)
class BrokerConfig:
    paths: BrokerPaths
    secrets_dir: Path
    port: int
    bind: str
    topics: Topics
    registry_dir: Path  # machine -> profile bindings and operator profiles (contract/registry.py)
    default_profile: str  # the profile a sensor is bound to when none is named


def load() -> BrokerConfig:
    state = var_dir()
    return BrokerConfig(
        paths=BrokerPaths(env_path("FOREWARN_BROKER_DIR", state / "broker")),
        secrets_dir=env_path("FOREWARN_SECRETS_DIR", state / "secrets"),
        port=env_int("FOREWARN_MQTT_PORT", 8883, minimum=1),
        bind=env_str("FOREWARN_MQTT_BIND", "127.0.0.1"),
        topics=Topics(env_str("FOREWARN_TOPIC_PREFIX", DEFAULT_PREFIX)),
        registry_dir=env_path("FOREWARN_REGISTRY_DIR", state / "registry"),
        default_profile=env_str("FOREWARN_DEFAULT_PROFILE", DEFAULT_PROFILE),
    )
