"""`python -m telegram_bot`: off without a token (exit 0), one-line errors for bad settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.telegram_api import FakeTelegram

REPO = Path(__file__).resolve().parents[2]
CA_FILE = "/etc/ssl/certs/ca-certificates.crt"  # any real certificate: these tests never connect


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "FOREWARN_"))}
    return subprocess.run(
        [sys.executable, "-m", "telegram_bot"],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean | {"FOREWARN_VAR_DIR": str(tmp_path)} | env,
    )


def test_without_a_token_it_says_how_to_enable_it_and_exits_0(tmp_path):
    result = _run(tmp_path)
    assert result.returncode == 0
    assert result.stdout.count("\n") == 1
    assert "TELEGRAM_BOT_TOKEN" in result.stdout
    assert result.stderr == ""


def test_a_bad_chat_list_is_one_line_and_exit_2(tmp_path):
    result = _run(
        tmp_path,
        TELEGRAM_BOT_TOKEN="123:abc",
        TELEGRAM_ALLOWED_CHAT_IDS="12,me",
        FOREWARN_MQTT_PASSWORD="x",
        FOREWARN_MQTT_CA=CA_FILE,
    )
    assert result.returncode == 2
    assert result.stderr == "error: TELEGRAM_ALLOWED_CHAT_IDS: 'me' is not a chat id (an integer)\n"


def test_a_missing_mqtt_password_is_one_line_and_exit_2(tmp_path):
    result = _run(tmp_path, TELEGRAM_BOT_TOKEN="123:abc", TELEGRAM_ALLOWED_CHAT_IDS="12", FOREWARN_MQTT_CA=CA_FILE)
    assert result.returncode == 2
    assert result.stderr.startswith("error: FOREWARN_MQTT_PASSWORD: cannot read ")
    assert result.stderr.count("\n") == 1


def test_a_token_telegram_refuses_is_one_line_and_exit_2(tmp_path):
    with FakeTelegram() as telegram:
        result = _run(
            tmp_path,
            TELEGRAM_BOT_TOKEN="999:not-the-token",
            TELEGRAM_ALLOWED_CHAT_IDS="12",
            TELEGRAM_API_BASE_URL=telegram.base_url,
            FOREWARN_MQTT_PASSWORD="x",
            FOREWARN_MQTT_CA=CA_FILE,
        )
    assert result.returncode == 2
    assert result.stderr == "error: Telegram refused TELEGRAM_BOT_TOKEN; check it with BotFather\n"
    assert "not-the-token" not in result.stdout


def test_a_missing_ca_certificate_is_one_line_and_exit_2(tmp_path):
    result = _run(tmp_path, TELEGRAM_BOT_TOKEN="123:abc", FOREWARN_MQTT_PASSWORD="x")
    assert result.returncode == 2
    assert result.stderr.startswith("error: FOREWARN_MQTT_CA: no CA certificate at ")
    assert result.stderr.count("\n") == 1
