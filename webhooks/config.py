"""The webhooks service's settings, read from the environment (the only place that does).

FOREWARN_WEBHOOKS_FILE (default var/webhooks.json): the endpoints (webhooks/endpoints.py);
without the file the service is off. FOREWARN_WEBHOOKS_STATE_DIR (var/webhooks): its outbox.
FOREWARN_WEBHOOK_RETRY_BASE_S (1) and FOREWARN_WEBHOOK_RETRY_MAX_S (300): the backoff after a
failed attempt, doubled each time up to the maximum; FOREWARN_WEBHOOK_GIVE_UP_H (24): a
delivery still failing this long after its event is given up (logged, kept as failed).
MQTT: the settings every service shares, user `webhooks` (role viewer).
FOREWARN_API_URL (http://127.0.0.1:8000; `off` for none): where verdicts, the maintenance log
and the silences (snoozes, maintenance windows) are read; FOREWARN_API_TOKEN (or _FILE): sent
when reads need it; FOREWARN_WEBHOOKS_POLL_S (5): how often verdicts and maintenance are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.mqtt import MqttSettings, settings_from_env
from common.settings import ConfigError, env_float, env_int, env_optional_secret, env_path, env_str, var_dir
from contract import DEFAULT_PREFIX, Topics

__all__ = ["SERVICE", "Retry", "WebhooksConfig", "endpoints_file", "load"]

SERVICE = "webhooks"


@dataclass(frozen=True)
class Retry:
    """Exponential backoff between attempts, and when to give up."""

    base_s: float = 1.0
    max_s: float = 300.0
    give_up_s: float = 24 * 3600.0


@dataclass(frozen=True)
class WebhooksConfig:
    endpoints_file: Path
    state_dir: Path
    mqtt: MqttSettings
    topics: Topics
    retry: Retry = Retry()
    api_url: str | None = None  # None: alert events only, none silenced
    api_token: str | None = None
    poll_s: float = 5.0


def endpoints_file() -> Path:
    return env_path("FOREWARN_WEBHOOKS_FILE", var_dir() / "webhooks.json")


def load() -> WebhooksConfig:
    state = var_dir()
    username = env_str("FOREWARN_MQTT_USERNAME", SERVICE)
    mqtt = settings_from_env(
        username,
        client_id=env_str("FOREWARN_MQTT_CLIENT_ID", username),  # stable: it names the persistent session
        session_expiry_s=env_int("FOREWARN_SESSION_EXPIRY_S", 7 * 24 * 3600, minimum=0),
        receive_maximum=env_int("FOREWARN_RECEIVE_MAXIMUM", 100, minimum=1),
    )
    return WebhooksConfig(
        endpoints_file=endpoints_file(),
        state_dir=env_path("FOREWARN_WEBHOOKS_STATE_DIR", state / "webhooks"),
        mqtt=mqtt,
        topics=Topics(env_str("FOREWARN_TOPIC_PREFIX", DEFAULT_PREFIX)),
        retry=Retry(
            base_s=env_float("FOREWARN_WEBHOOK_RETRY_BASE_S", 1.0, minimum=0.01),
            max_s=env_float("FOREWARN_WEBHOOK_RETRY_MAX_S", 300.0, minimum=0.01),
            give_up_s=env_float("FOREWARN_WEBHOOK_GIVE_UP_H", 24.0, minimum=0.001) * 3600,
        ),
        api_url=_api_url(),
        api_token=env_optional_secret("FOREWARN_API_TOKEN"),
        poll_s=env_float("FOREWARN_WEBHOOKS_POLL_S", 5.0, minimum=0.05),
    )


def _api_url() -> str | None:
    url = env_str("FOREWARN_API_URL", "http://127.0.0.1:8000")
    if url == "off":
        return None
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"FOREWARN_API_URL: {url!r} is not an http:// or https:// URL (or off)")
    return url.rstrip("/")
