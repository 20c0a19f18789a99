"""The worker's settings, read from the environment (the only place that does)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from common.mqtt import MqttSettings, settings_from_env
from common.settings import ConfigError, env_float, env_int, env_path, env_str, var_dir
from contract import DEFAULT_MAX_FUTURE_S, DEFAULT_PREFIX, Topics, validate_name

# A sensor sends about 1 reading/s. The quota must never refuse an honest one (a refused
# reading is gone: the broker already acknowledged it to the sensor), so its rate is 100 x
# that and its burst is a publisher's whole outbox (FOREWARN_OUTBOX_MAX_ROWS), which arrives
# at once after an outage. What it stops is a sustained flood (see README, "Per-sensor quota").
DEFAULT_SENSOR_RATE = 100.0
DEFAULT_SENSOR_BURST = 100_000


@dataclass(frozen=True)
class WorkerConfig:
    mqtt: MqttSettings
    topics: Topics
    instance: str  # this worker's name: its broker account, client id and service status topic
    share_group: str
    models_dir: Path
    registry_dir: Path  # machine -> profile bindings and operator profiles (contract/registry.py)
    max_batch: int
    receive_maximum: int
    clear_after: int
    stats_interval_s: float
    model_poll_s: float
    # Hysteresis: calm = probability below clear_ratio x threshold; clear_after calm readings clear.
    clear_ratio: float = 0.5
    # A machine offline this long has its open alerts cleared as stale (0 = never).
    stale_after_s: float = 1800.0
    # For tests only (FOREWARN_SCORE_DELAY_MS): extra time per reading, to simulate a slow model.
    score_delay_ms: float = 0.0
    max_future_s: float = DEFAULT_MAX_FUTURE_S  # readings dated further ahead are bad_timestamp
    sensor_rate: float = DEFAULT_SENSOR_RATE  # readings/s per machine and worker; 0: no quota
    sensor_burst: int = DEFAULT_SENSOR_BURST
    # Stopping for good: how long to score what the broker had queued for us before giving up
    # (and keeping the session, so nothing is lost). compose.yaml's stop_grace_period exceeds it.
    leave_drain_s: float = 20.0
    registry_check_s: float = 1.0  # how often the registry's files are checked for changes
    # How long the first reading of a batch waits for others before the batch is scored
    # (FOREWARN_BATCH_WAIT_MS; the environment's default is 20 ms).
    batch_wait_s: float = 0.0


def load() -> WorkerConfig:
    state = var_dir()
    # One broker account per worker, named after its id (`python -m broker add-user
    # inference-worker-ID --role worker`; `init` makes 1..FOREWARN_WORKER_ACCOUNTS). Its output
    # connection logs in as the account's twin, INSTANCE-out, with the same password.
    instance = validate_name(f"inference-worker-{env_str('FOREWARN_WORKER_ID', socket.gethostname())}"[:60])
    mqtt = settings_from_env(
        instance,
        client_id=instance,
        session_expiry_s=env_int("FOREWARN_SESSION_EXPIRY_S", 7 * 24 * 3600, minimum=0),
        receive_maximum=env_int("FOREWARN_RECEIVE_MAXIMUM", 2000, minimum=1),
    )
    return WorkerConfig(
        mqtt=mqtt,
        topics=Topics(env_str("FOREWARN_TOPIC_PREFIX", DEFAULT_PREFIX)),
        instance=instance,
        share_group=env_str("FOREWARN_SHARE_GROUP", "inference"),
        models_dir=env_path("FOREWARN_MODELS_DIR", state / "models"),
        registry_dir=env_path("FOREWARN_REGISTRY_DIR", state / "registry"),
        registry_check_s=env_float("FOREWARN_REGISTRY_CHECK_S", 1.0, minimum=0.0),
        max_batch=env_int("FOREWARN_MAX_BATCH", 256, minimum=1),
        receive_maximum=env_int("FOREWARN_RECEIVE_MAXIMUM", 2000, minimum=1),
        clear_after=env_int("FOREWARN_ALERT_CLEAR_AFTER", 5, minimum=1),
        clear_ratio=_ratio("FOREWARN_ALERT_CLEAR_RATIO", 0.5),
        stale_after_s=env_float("FOREWARN_ALERT_STALE_AFTER_S", 1800.0, minimum=0.0),
        stats_interval_s=env_float("FOREWARN_STATS_INTERVAL_S", 10.0, minimum=0.1),
        model_poll_s=env_float("FOREWARN_MODEL_POLL_S", 5.0, minimum=0.1),
        score_delay_ms=env_float("FOREWARN_SCORE_DELAY_MS", 0.0, minimum=0.0),
        max_future_s=env_float("FOREWARN_MAX_FUTURE_S", DEFAULT_MAX_FUTURE_S, minimum=0.0),
        sensor_rate=env_float("FOREWARN_SENSOR_QUOTA_RATE", DEFAULT_SENSOR_RATE, minimum=0.0),
        sensor_burst=env_int("FOREWARN_SENSOR_QUOTA_BURST", DEFAULT_SENSOR_BURST, minimum=1),
        leave_drain_s=env_float("FOREWARN_LEAVE_DRAIN_S", 20.0, minimum=0.0),
        batch_wait_s=_batch_wait_s(),
    )


MAX_BATCH_WAIT_MS = 500.0  # beyond this the wait would eat most of the 1 s from sensor to screen


def _batch_wait_s() -> float:
    wait_ms = env_float("FOREWARN_BATCH_WAIT_MS", 20.0, minimum=0.0)
    if wait_ms > MAX_BATCH_WAIT_MS:
        raise ConfigError(f"FOREWARN_BATCH_WAIT_MS={wait_ms:g} must be at most {MAX_BATCH_WAIT_MS:g}")
    return wait_ms / 1000


def _ratio(name: str, default: float) -> float:
    value = env_float(name, default)
    if not 0 < value <= 1:
        raise ConfigError(f"{name}={value} must be more than 0 and at most 1")
    return value
