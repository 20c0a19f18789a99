"""`python -m broker` against a broker it started (`run`): changes reach it at once, as the admin."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.local import free_port
from common.mqtt import MqttSettings, connect_client, create_client, wait_connected
from contract.registry import read_bindings
from tests.support.stack import REPO_ROOT


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def running() -> Iterator[tuple[dict[str, str], int]]:
    """`broker init`, then `broker run` on a free port, as `make up` does."""
    root = Path(tempfile.mkdtemp(prefix="forewarn-cli-"))
    root.chmod(0o755)  # not pytest's private tmp_path: Mosquitto drops root for its own user
    port = free_port()
    env = {"PATH": os.environ["PATH"], "FOREWARN_VAR_DIR": str(root / "var"), "FOREWARN_MQTT_PORT": str(port)}
    assert _cli(env, "init").returncode == 0
    tmp_path = root
    log = (tmp_path / "broker.log").open("ab")
    broker = subprocess.Popen([sys.executable, "-m", "broker", "run"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 15
    while not (tmp_path / "var" / "broker" / "mosquitto.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    try:
        yield env, port
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait(timeout=10)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def _logs_in(env: dict[str, str], port: int, name: str, password: str) -> bool:
    var = Path(env["FOREWARN_VAR_DIR"])
    settings = MqttSettings("localhost", port, var / "broker/config/tls/ca.crt", name, password, name)
    client = create_client(settings, status_topic=None)
    connect_client(client, settings)
    try:
        return wait_connected(client, 10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_add_user_reaches_the_running_broker_at_once_and_remove_user_too(running: tuple[dict[str, str], int]) -> None:
    env, port = running
    added = _cli(env, "add-user", "press-7", "--role", "sensor", "--save")
    assert added.returncode == 0, added.stderr
    password = (Path(env["FOREWARN_VAR_DIR"]) / "secrets" / "press-7.password").read_text().strip()
    assert _logs_in(env, port, "press-7", password)  # no restart, no signal
    assert "press-7 sensor" in _cli(env, "list-users").stdout.splitlines()
    assert _cli(env, "remove-user", "press-7").returncode == 0
    assert not _logs_in(env, port, "press-7", password)


def test_a_sensor_is_bound_with_its_account_and_not_when_the_account_is_refused(
    running: tuple[dict[str, str], int],
) -> None:
    env, _port = running
    added = _cli(env, "add-user", "press-8", "--role", "sensor", "--profile", "ai4i-mill")
    assert added.returncode == 0, added.stderr
    assert "press-8\tai4i-mill" in _cli(env, "bindings").stdout.splitlines()
    refused = _cli(env, "add-user", "api", "--role", "sensor")  # the API's viewer account, without --change-role
    assert refused.returncode == 2
    assert refused.stderr.strip() == "error: user 'api' is a viewer; to make it a sensor, add --change-role"
    assert not any(line.startswith("api\t") for line in _cli(env, "bindings").stdout.splitlines())
    assert _cli(env, "remove-user", "press-8").returncode == 0
    assert not any(line.startswith("press-8\t") for line in _cli(env, "bindings").stdout.splitlines())


def test_init_binds_the_stacks_turbofan_engines_to_their_profile(running: tuple[dict[str, str], int]) -> None:
    env, _port = running
    bindings = read_bindings(Path(env["FOREWARN_VAR_DIR"]) / "registry")
    assert {name: bindings[name] for name in ("turbofan-1", "turbofan-2", "slave1")} == {
        "turbofan-1": "turbofan",
        "turbofan-2": "turbofan",
        "slave1": "ai4i-mill",
    }
