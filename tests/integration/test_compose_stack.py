"""compose.yaml run as local processes: fresh stack healthy, readings flow, workers scale.

The commands, environment, volumes, health checks and start order are read from
compose.yaml (tests/support/compose_local.py says what is translated and how); the stack
starts from empty volumes, so `init` makes the certificates, users and model for real.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broker.__main__ import stack_users
from common.mqtt import connect_client, create_client, wait_connected
from tests.fakes.telegram_api import FakeTelegram
from tests.support.compose import REPO_ROOT, active_services
from tests.support.compose_local import LocalCompose
from tests.support.payloads import encode, reading
from tests.support.stack import wait_online

TOKEN = "compose-stack-token-0123456789"
CHAT = 424_242
MACHINES = ("slave1", "slave2", "sim-1")
STATS = re.compile(r"^(\S+ \S+) inference-worker-(\d+) INFO received=\d+ scored=(\d+)", re.MULTILINE)
BURST = 90


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(telegram: FakeTelegram) -> Iterator[LocalCompose]:
    """`docker compose --profile telegram up` from empty volumes, as local processes."""
    environ = {
        "FOREWARN_API_TOKEN": TOKEN,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "TELEGRAM_ALLOWED_CHAT_IDS": str(CHAT),
    }
    with LocalCompose(environ, profiles=("telegram",)) as running:
        running.up()
        yield running


def api_get(stack: LocalCompose, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.api_port}{path}", timeout=10) as response:
        return json.loads(response.read())


def volume(stack: LocalCompose, service: str, target_suffix: str) -> Path:
    """The folder of the volume `service` mounts at a target ending in `target_suffix`."""
    mount = next(m for m in stack.service(service).mounts if m.target.endswith(target_suffix))
    return stack.volume_dir(mount.source)


def test_init_made_certificates_users_passwords_and_model(stack: LocalCompose) -> None:
    credentials = volume(stack, "init", "/secrets")
    broker_config = volume(stack, "init", "/broker/config")
    models = volume(stack, "init", "/models")
    users = stack_users(int(stack.service("init").environment["FOREWARN_WORKER_ACCOUNTS"]))
    assert "inference-worker-4" in users
    assert {f"{user}.password" for user in users} <= {p.name for p in credentials.iterdir()}
    assert (credentials / "ca.crt").read_bytes() == (broker_config / "tls" / "ca.crt").read_bytes()
    assert stack.broker is not None
    assert stack.broker.accounts.users() == users | {"broker-health": "viewer"}
    assert (broker_config / "health" / "broker-health.password").stat().st_size > 0
    assert (models / (models / "current").read_text().strip()).is_dir()


def test_each_service_gets_its_own_secrets_and_no_others(stack: LocalCompose) -> None:
    credentials = volume(stack, "init", "/secrets")
    workers = sorted(p.name for p in credentials.glob("inference-worker-*.password"))
    expected = {
        "inference-worker": {"ca.crt", *workers},
        "api": {"ca.crt", "api.password", "api.token"},
        "telegram-bot": {"ca.crt", "telegram-bot.password", "api.token"},
        "publisher-slave1": {"ca.crt", "slave1.password"},
        "publisher-slave2": {"ca.crt", "slave2.password"},
        "simulator": {"ca.crt", "sim-1.password"},
        "publisher-turbofan-1": {"ca.crt", "turbofan-1.password"},
        "publisher-turbofan-2": {"ca.crt", "turbofan-2.password"},
    }
    found = {name: {p.name for p in volume(stack, name, "/secrets").iterdir()} for name in expected}
    assert len(workers) == 4
    assert found == expected
    for name, files in found.items():
        folder = volume(stack, name, "/secrets")
        for file in files:
            assert (folder / file).read_bytes() == (credentials / file).read_bytes(), (name, file)
            assert (folder / file).stat().st_mode & 0o077 == 0, (name, file)
    assert "broker-admin.password" in {p.name for p in credentials.iterdir()}  # the tooling's, for no service


def test_init_again_keeps_what_exists(stack: LocalCompose) -> None:
    credentials = volume(stack, "init", "/secrets")
    before = {p.name: p.read_text() for p in credentials.glob("*.password")}
    assert stack.run_one_shot("init") == 0
    assert {p.name: p.read_text() for p in credentials.glob("*.password")} == before
    assert "in place" in stack.tail("init")


def test_every_long_running_service_is_healthy(stack: LocalCompose) -> None:
    names = [n for n in active_services(stack.doc, stack.profiles) if not stack.service(n).one_shot]
    assert "telegram-bot" in names
    assert {name: stack.check_health(name)[0] for name in names} == dict.fromkeys(names, True)


def test_broker_health_check_logs_in_for_real(stack: LocalCompose) -> None:
    password_file = volume(stack, "mosquitto", "/config") / "health" / "broker-health.password"
    password = password_file.read_text()
    try:
        password_file.write_text("not-the-password\n")
        assert stack.check_health("mosquitto")[0] is False
    finally:
        password_file.write_text(password)
    assert stack.check_health("mosquitto")[0] is True


def test_readings_flow_through_to_the_api_and_the_dashboard(stack: LocalCompose) -> None:
    deadline = time.monotonic() + 60
    while True:
        machines = {m["machine_id"]: m for m in api_get(stack, "/api/machines")["machines"]}
        if all(m in machines and machines[m]["latest"] for m in MACHINES) or time.monotonic() > deadline:
            break
        time.sleep(1)
    for machine in MACHINES:
        assert machines[machine]["counts"]["readings"] > 0, machine
        assert machines[machine]["latest"]["model_version"]
    assert api_get(stack, "/api/health")["status"] == "ok"
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.api_port}/", timeout=10) as page:
        assert b"<html" in page.read().lower()


def test_telegram_profile_bot_answers(stack: LocalCompose, telegram: FakeTelegram) -> None:
    telegram.user_says(chat_id=CHAT, text="/status")
    assert telegram.wait_for(lambda t: len(t.messages_to(CHAT)) >= 1, timeout=30)


def test_three_workers_split_the_load(stack: LocalCompose) -> None:
    assert stack.broker is not None
    stack.scale("inference-worker", 3)
    for replica in (2, 3):
        wait_online(stack.broker, f"inference-worker-{replica}")
    before = _scored_by_worker(stack)
    machine = f"m-{uuid.uuid4().hex[:12]}"
    _publish_burst(stack, machine, BURST)
    _wait_for_readings(stack, machine, BURST)
    after = _wait_for_stats_since(stack, _log_time(time.time()))
    shares = {replica: after[replica] - before.get(replica, 0) for replica in (1, 2, 3)}
    # Mosquitto hands a shared subscription's messages round robin: about a third each.
    assert all(share >= BURST // 6 for share in shares.values()), shares


def _log_time(moment: float) -> str:
    """`moment` as the services' log lines print it (common/logs.py: local time, milliseconds)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment)) + f",{int(moment % 1 * 1000):03d}"


def _scored_by_worker(stack: LocalCompose, since: str = "") -> dict[int, int]:
    """The latest `scored=` count each worker logged (at or after `since`)."""
    latest: dict[int, int] = {}
    for replica in (1, 2, 3):
        for stamp, number, scored in STATS.findall(stack.tail("inference-worker", replica, size=10**7)):
            if stamp >= since and int(number) == replica:
                latest[replica] = int(scored)
    return latest


def _wait_for_stats_since(stack: LocalCompose, since: str) -> dict[int, int]:
    deadline = time.monotonic() + 40  # the workers log their counters every 10 s
    while True:
        latest = _scored_by_worker(stack, since)
        if len(latest) == 3 or time.monotonic() > deadline:
            assert len(latest) == 3, f"stats lines since {since}: {latest}"
            return latest
        time.sleep(1)


def _publish_burst(stack: LocalCompose, machine: str, count: int) -> None:
    assert stack.broker is not None
    settings = stack.broker.settings(machine, stack.broker.add_user(machine, "sensor"))
    client = create_client(settings, status_topic=None)
    connect_client(client, settings)
    assert wait_connected(client)
    topic = stack.broker.topics.readings(machine)
    infos = [client.publish(topic, encode(reading(reading_id=f"{machine}-{n}")), qos=1) for n in range(count)]
    for info in infos:
        info.wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()


def _wait_for_readings(stack: LocalCompose, machine: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = {m["machine_id"]: m for m in api_get(stack, "/api/machines")["machines"]}
        if machine in found and found[machine]["counts"]["readings"] >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"the API did not see {count} readings of {machine}")


def test_bot_without_token_stops_with_one_line() -> None:
    with LocalCompose({"FOREWARN_API_TOKEN": TOKEN}, profiles=("telegram",)) as compose:
        result = subprocess.run(
            compose.argv("telegram-bot"),
            cwd=REPO_ROOT,
            env=compose.environment("telegram-bot"),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    assert "set TELEGRAM_BOT_TOKEN" in result.stderr
    assert result.stderr.count("\n") == 1
