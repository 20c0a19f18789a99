"""The publisher's settings from the environment: defaults, the secret, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import ConfigError
from publisher.config import load


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in (
        "FOREWARN_MQTT_PASSWORD",
        "FOREWARN_MQTT_PASSWORD_FILE",
        "FOREWARN_OUTBOX_DIR",
        "FOREWARN_SECRETS_DIR",
        "FOREWARN_TOPIC_PREFIX",
        "FOREWARN_MQTT_HOST",
        "FOREWARN_MQTT_PORT",
        "FOREWARN_MQTT_CA",
        "FOREWARN_OUTBOX_MAX_ROWS",
        "FOREWARN_PUBLISHER_MAX_INFLIGHT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOREWARN_VAR_DIR", str(tmp_path))
    return tmp_path


def test_defaults_and_the_password_file_under_var(clean_env: Path) -> None:
    (clean_env / "secrets").mkdir()
    (clean_env / "secrets" / "slave1.password").write_text("s3cret\n")
    config = load("slave1")
    assert (config.mqtt.username, config.mqtt.password) == ("slave1", "s3cret")
    assert (config.mqtt.host, config.mqtt.port) == ("localhost", 8883)
    assert config.mqtt.ca_file == clean_env / "broker" / "config" / "tls" / "ca.crt"
    assert config.outbox_path == clean_env / "outbox" / "slave1.db"
    assert (config.outbox_max_rows, config.max_inflight) == (100_000, 100)
    assert config.topics.readings("slave1") == "pdm/machines/slave1/readings"


def test_the_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FOREWARN_MQTT_PASSWORD", "pw")
    monkeypatch.setenv("FOREWARN_OUTBOX_DIR", str(tmp_path / "box"))
    monkeypatch.setenv("FOREWARN_OUTBOX_MAX_ROWS", "50")
    monkeypatch.setenv("FOREWARN_TOPIC_PREFIX", "plant/a")
    config = load("sim-1")
    assert config.mqtt.password == "pw"
    assert config.outbox_path == tmp_path / "box" / "sim-1.db"
    assert config.outbox_max_rows == 50
    assert config.topics.readings("sim-1") == "plant/a/machines/sim-1/readings"


@pytest.mark.parametrize(
    ("env", "machine", "message"),
    [
        ({}, "slave1", "FOREWARN_MQTT_PASSWORD: cannot read"),
        ({"FOREWARN_MQTT_PASSWORD": "pw"}, "a/b", "--machine: name 'a/b' must match"),
        (
            {"FOREWARN_MQTT_PASSWORD": "pw", "FOREWARN_OUTBOX_MAX_ROWS": "0"},
            "m",
            "FOREWARN_OUTBOX_MAX_ROWS=0",
        ),
        ({"FOREWARN_MQTT_PASSWORD": "pw", "FOREWARN_TOPIC_PREFIX": "a/#"}, "m", "FOREWARN_TOPIC_PREFIX"),
    ],
)
def test_a_bad_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], machine: str, message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load(machine)
