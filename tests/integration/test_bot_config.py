"""The bot's settings from the environment: defaults, files it reads (CA, API token), refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import ConfigError
from telegram_bot import config

TOKEN = "123456:AAE-secret_token"
# A real CA certificate, from the trust store every Debian has (the config loads it to check it).
CA_FILE = Path("/etc/ssl/certs/ca-certificates.crt")


def _bot_env(monkeypatch, tmp_path: Path, **extra: str) -> None:
    for name in (
        "FOREWARN_API_TOKEN",
        "FOREWARN_API_TOKEN_FILE",
        "TELEGRAM_API_BASE_URL",
        "FOREWARN_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOREWARN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("FOREWARN_MQTT_PASSWORD", "pw")
    monkeypatch.setenv("FOREWARN_MQTT_CA", str(CA_FILE))
    monkeypatch.setenv("TELEGRAM_ALLOWED_CHAT_IDS", "42")
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


def test_config_defaults(monkeypatch, tmp_path):
    _bot_env(monkeypatch, tmp_path)
    cfg = config.load(TOKEN)
    assert cfg.telegram_base_url == "https://api.telegram.org/bot"
    assert cfg.telegram_file_url == "https://api.telegram.org/file/bot"
    assert cfg.allowed_chat_ids == frozenset({42})
    assert cfg.api_token is None
    assert cfg.mqtt.username == cfg.mqtt.client_id == "telegram-bot"
    assert cfg.mqtt.session_expiry_s > 0
    assert cfg.mqtt.receive_maximum == 100
    assert cfg.state_dir == tmp_path.resolve() / "telegram_bot"


def test_config_reads_a_self_hosted_bot_api_and_the_api_token(monkeypatch, tmp_path):
    (tmp_path / "token").write_text("api-token-0123456789\n")
    _bot_env(
        monkeypatch,
        tmp_path,
        TELEGRAM_API_BASE_URL="http://127.0.0.1:8081/bot",
        FOREWARN_API_TOKEN_FILE=str(tmp_path / "token"),
        TELEGRAM_DIGEST_OVER="3",
    )
    cfg = config.load(TOKEN)
    assert cfg.telegram_file_url == "http://127.0.0.1:8081/file/bot"
    assert cfg.api_token == "api-token-0123456789"
    assert cfg.pacing.digest_over == 3


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TELEGRAM_API_BASE_URL", "api.telegram.org", "must be an http"),
        ("TELEGRAM_DIGEST_OVER", "0", "must be at least 1"),
        ("TELEGRAM_ALLOWED_CHAT_IDS", "@mychannel", "is not a chat id"),
        ("FOREWARN_MQTT_CA", "/nonexistent/ca.crt", "no CA certificate at /nonexistent/ca.crt"),
        ("FOREWARN_MQTT_CA", __file__, "is not a PEM certificate"),
    ],
)
def test_bad_settings_are_config_errors(monkeypatch, tmp_path, name, value, message):
    _bot_env(monkeypatch, tmp_path, **{name: value})
    with pytest.raises(ConfigError, match=message):
        config.load(TOKEN)
