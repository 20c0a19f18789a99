"""The bot's settings, read from the environment (the only place that does).

Telegram: TELEGRAM_BOT_TOKEN (no default: without it the bot does not run),
TELEGRAM_ALLOWED_CHAT_IDS (comma-separated; negative ids are groups),
TELEGRAM_API_BASE_URL (Telegram's own by default; a self-hosted Bot API server or a test fake).
Forewarn: FOREWARN_API_URL, FOREWARN_API_TOKEN (only /ack needs it), FOREWARN_DASHBOARD_URL,
and the MQTT settings every service shares.
Escalation: TELEGRAM_ESCALATION_CHAT_IDS (comma-separated; empty = off) and
TELEGRAM_ESCALATE_AFTER_MIN: a critical alert nobody acknowledged that long is sent again there.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from common.mqtt import MqttSettings, settings_from_env
from common.settings import ConfigError, env_float, env_int, env_optional_secret, env_path, env_str, var_dir
from contract import DEFAULT_PREFIX, Topics

__all__ = ["BotConfig", "Escalation", "Pacing", "bot_token", "load", "parse_chat_ids"]

TELEGRAM_DEFAULT_BASE_URL = "https://api.telegram.org/bot"
SERVICE = "telegram-bot"


@dataclass(frozen=True)
class Pacing:
    """How alert messages are paced per chat and how Telegram errors are retried."""

    batch_window_s: float = 1.0  # gather a burst before sending, so it can become one digest
    digest_over: int = 5  # more pending alerts than this for a chat -> one digest message
    min_gap_s: float = 1.0  # Telegram: about one message per second per chat
    max_per_minute: int = 20  # Telegram: 20 messages per minute in a group
    retry_base_s: float = 1.0  # first backoff after a 5xx or network error, doubled each time
    retry_max_s: float = 60.0


@dataclass(frozen=True)
class Escalation:
    """Critical alerts unacknowledged for `after_s` go again to `chat_ids` (once per alert)."""

    chat_ids: frozenset[int] = frozenset()  # empty: no escalation
    after_s: float = 15 * 60.0
    check_s: float = 15.0  # how often due escalations are looked for

    @property
    def enabled(self) -> bool:
        return bool(self.chat_ids)


@dataclass(frozen=True)
class BotConfig:
    """Everything the bot needs to run."""

    token: str
    allowed_chat_ids: frozenset[int]
    telegram_base_url: str
    api_url: str
    api_token: str | None
    dashboard_url: str
    mqtt: MqttSettings
    topics: Topics
    state_dir: Path
    pacing: Pacing = Pacing()
    poll_timeout_s: int = 10
    escalation: Escalation = Escalation()

    @property
    def chat_ids(self) -> frozenset[int]:
        """Every chat the bot talks to: the allowed ones and the escalation ones."""
        return self.allowed_chat_ids | self.escalation.chat_ids

    @property
    def telegram_file_url(self) -> str:
        """The file URL that goes with the base URL (`.../bot` -> `.../file/bot`)."""
        root, _, tail = self.telegram_base_url.rstrip("/").rpartition("/")
        return f"{root}/file/{tail}"


def bot_token() -> str | None:
    """The bot's token, or None when the bot is not enabled."""
    return os.environ.get("TELEGRAM_BOT_TOKEN") or None


def parse_chat_ids(raw: str, name: str = "TELEGRAM_ALLOWED_CHAT_IDS") -> frozenset[int]:
    """`"123, -100456"` -> {123, -100456}; anything but integers is a ConfigError naming `name`."""
    ids = set()
    for part in raw.split(","):
        if not part.strip():
            continue
        try:
            ids.add(int(part.strip()))
        except ValueError:
            message = f"{name}: {part.strip()!r} is not a chat id (an integer)"
            raise ConfigError(message) from None
    return frozenset(ids)


def load(token: str) -> BotConfig:
    """Read every setting; a malformed one raises ConfigError."""
    state = var_dir()
    return BotConfig(
        token=token,
        allowed_chat_ids=parse_chat_ids(os.environ.get("TELEGRAM_ALLOWED_CHAT_IDS", "")),
        telegram_base_url=_http_url("TELEGRAM_API_BASE_URL", TELEGRAM_DEFAULT_BASE_URL),
        api_url=_http_url("FOREWARN_API_URL", "http://127.0.0.1:8000"),
        api_token=env_optional_secret("FOREWARN_API_TOKEN"),
        dashboard_url=_http_url("FOREWARN_DASHBOARD_URL", "http://localhost:8000"),
        mqtt=_mqtt_settings(state),
        topics=Topics(env_str("FOREWARN_TOPIC_PREFIX", DEFAULT_PREFIX)),
        state_dir=env_path("FOREWARN_TELEGRAM_STATE_DIR", state / "telegram_bot"),
        pacing=_pacing(),
        poll_timeout_s=env_int("TELEGRAM_POLL_TIMEOUT_S", 10, minimum=0),
        escalation=_escalation(),
    )


def _escalation() -> Escalation:
    name = "TELEGRAM_ESCALATION_CHAT_IDS"
    minutes = env_float("TELEGRAM_ESCALATE_AFTER_MIN", 15.0, minimum=0.01)
    return Escalation(
        chat_ids=parse_chat_ids(os.environ.get(name, ""), name),
        after_s=minutes * 60,
        check_s=min(15.0, max(minutes * 60 / 4, 0.5)),
    )


def _http_url(name: str, default: str) -> str:
    value = env_str(name, default)
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name}={value!r} must be an http:// or https:// URL")
    return value


def _mqtt_settings(state: Path) -> MqttSettings:
    username = env_str("FOREWARN_MQTT_USERNAME", SERVICE)
    settings = settings_from_env(
        username,
        client_id=username,  # the broker binds each account to one client id, its name
        session_expiry_s=env_int("FOREWARN_SESSION_EXPIRY_S", 7 * 24 * 3600, minimum=0),
        # Unacknowledged alerts the broker may hand us at once; the rest wait at the broker.
        receive_maximum=env_int("FOREWARN_RECEIVE_MAXIMUM", 100, minimum=1),
    )
    _ca_file(settings.ca_file)
    return settings


def _ca_file(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(f"FOREWARN_MQTT_CA: no CA certificate at {path} (`python -m broker init` makes one)")
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        raise ConfigError(f"FOREWARN_MQTT_CA: {path} is not a PEM certificate ({exc.reason})") from None
    return path


def _pacing() -> Pacing:
    return Pacing(
        batch_window_s=env_float("TELEGRAM_BATCH_WINDOW_S", 1.0, minimum=0.0),
        digest_over=env_int("TELEGRAM_DIGEST_OVER", 5, minimum=1),
        min_gap_s=env_float("TELEGRAM_CHAT_MIN_GAP_S", 1.0, minimum=0.0),
        max_per_minute=env_int("TELEGRAM_CHAT_MAX_PER_MINUTE", 20, minimum=1),
        retry_base_s=env_float("TELEGRAM_RETRY_BASE_S", 1.0, minimum=0.01),
        retry_max_s=env_float("TELEGRAM_RETRY_MAX_S", 60.0, minimum=0.01),
    )
