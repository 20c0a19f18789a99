"""S15-S17: the broker holds rights at SUBSCRIBE, binds client ids to accounts, and its
accounts are changed only as asked (issue 14, items 1, 2 and 8).

S15: a sensor and a viewer subscribe to the readings' share group, to `#` and to topics
outside their rights while a real worker scores 1,000 readings: every such filter is refused
in the SUBACK (reason 135), nothing reaches them, and the worker stores every reading.
S16: strangers (a sensor, a viewer, another worker) log in under the client ids of the
worker, its output connection, the API, the observer and a sensor, while those run: each
login is refused, none of those clients is disconnected, nothing is lost.
S17: the stored password hashes, and `add-user` refusing to change a role unless asked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from broker.accounts import ITERATIONS
from broker.local import LocalBroker
from contract import Channel
from tests.reliability.harness import Pipeline, report, wait_until
from tests.support.mqtt import Collector
from tests.support.stack import REPO_ROOT, test_share_group

NOT_AUTHORIZED = 0x87
READINGS = 1_000

# ------------------------------------------------------------------------------- S15


def _spy_filters(topics, group: str, own: str, other: str) -> dict[str, list[str]]:
    """Filters outside each role's read rights: share groups, wildcards, other machines' topics."""
    readings = f"{topics.all_of(Channel.READINGS)}/#"
    shared = [
        f"$share/{group}/{readings}",
        f"$share/spies/{readings}",
        f"$share/spies/{topics.all_of(Channel.READINGS)}",
    ]
    sensor = [
        *shared,
        "#",
        f"{topics.prefix}/#",
        topics.readings(other),
        topics.status(other),
        topics.readings(own),  # a sensor reads nothing, not even its own topics
        topics.predictions(own),
        topics.all_of(Channel.ALERTS),
    ]
    viewer = [
        *shared,
        f"$share/spies/{topics.all_of(Channel.PREDICTIONS)}",  # a readable channel, but as a group
        "#",
        f"{topics.prefix}/#",
        topics.all_readings_any_depth(),
        f"{topics.readings(other)}/#",
        "$SYS/#",
        "$CONTROL/dynamic-security/#",
    ]
    return {"sensor": sensor, "viewer": viewer}


def test_s15_subscriptions_outside_the_rights_are_refused_and_no_reading_is_lost(pipeline: Pipeline) -> None:
    broker, topics = pipeline.broker, pipeline.broker.topics
    pipeline.start_worker("s15")
    own, other = "s15-press", "s15-lathe"
    filters = _spy_filters(topics, test_share_group(), own, other)
    spies: dict[str, Collector] = {}
    for role, name in (("sensor", own), ("viewer", "s15-dashboard")):
        allowed = [topics.all_of(Channel.PREDICTIONS)] if role == "viewer" else []  # the control: granted
        spies[role] = Collector(broker.settings(name, broker.add_user(name, role)), [*filters[role], *allowed])
    try:
        publisher = pipeline.start_publisher(other, count=READINGS, rate=200)
        pipeline.wait_publishers(60)
        assert pipeline.wait_stored(READINGS, 60), f"only {pipeline.stored_count()} stored"
        figures = pipeline.outcome()
        readings_seen = {
            role: sum(m.topic.endswith(f"/{Channel.READINGS.value}") for m in spy.messages)
            for role, spy in spies.items()
        }
        codes = {role: sorted(set(spy.suback.values())) for role, spy in spies.items()}
        report(
            "S15",
            **figures,
            filters_tried={role: len(f) for role, f in filters.items()},
            filters_refused={role: len(spy.refused) for role, spy in spies.items()},
            reason_codes=codes,
            readings_at_spies=readings_seen,
        )
        assert figures["lost"] == 0
        assert figures["stored"] == publisher.count
        for role, spy in spies.items():
            assert {spy.suback[f] for f in filters[role]} == {NOT_AUTHORIZED}, (role, spy.suback)
        assert spies["viewer"].suback[topics.all_of(Channel.PREDICTIONS)] == 1  # granted, QoS 1
        assert readings_seen == {"sensor": 0, "viewer": 0}
        assert not spies["sensor"].messages
    finally:
        for spy in spies.values():
            spy.close()


# ------------------------------------------------------------------------------- S16


@dataclass(frozen=True)
class Login:
    reason: int
    session_present: bool


def _login(broker: LocalBroker, username: str, password: str, client_id: str) -> Login:
    """One MQTT 5 login resuming any session of `client_id` (clean start off); logs out at once."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.tls_set(ca_certs=str(broker.ca_file))
    client.username_pw_set(username, password)
    answered = threading.Event()
    outcome: list[Login] = []

    def on_connect(_c: mqtt.Client, _u: object, flags: mqtt.ConnectFlags, reason: ReasonCode, _p: object) -> None:
        outcome.append(Login(reason.value, flags.session_present))
        answered.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port, keepalive=10, clean_start=False)
    client.loop_start()
    try:
        assert answered.wait(10), f"no CONNACK for {username} as {client_id}"
    finally:
        client.disconnect()
        client.loop_stop()
    return outcome[0]


def test_s16_a_stranger_cannot_log_in_under_another_accounts_client_id(pipeline: Pipeline) -> None:
    broker, topics = pipeline.broker, pipeline.broker.topics
    pipeline.start_worker("s16")
    machine = "s16-press"
    since = time.monotonic()
    publisher = pipeline.start_publisher(machine, count=READINGS, rate=40)  # 25 s, mostly during the attempts
    assert wait_until(lambda: pipeline.stored_count() >= 50, 30), "nothing stored"
    victims = ["inference-worker-s16", "inference-worker-s16-out", "api", "observer", machine]
    strangers = {
        name: broker.add_user(name, role)
        for name, role in (("s16-intruder", "sensor"), ("s16-spy", "viewer"), ("inference-worker-s16x", "worker"))
    }
    attempts: list[tuple[str, str, Login]] = []
    with ThreadPoolExecutor(len(victims)) as pool:  # each round: every victim's id at once
        for _round in range(3):
            for stranger, password in strangers.items():
                logins = pool.map(lambda victim, s=stranger, p=password: _login(broker, s, p, victim), victims)
                attempts += [(stranger, victim, login) for victim, login in zip(victims, logins, strict=True)]
            time.sleep(1)
    own_ids = {stranger: _login(broker, stranger, password, stranger) for stranger, password in strangers.items()}
    publishing = publisher.process.poll() is None
    # A takeover disconnects the client (its will says offline) and it reconnects (online again):
    # no offline may come, but for the publisher's own goodbye if it has finished meanwhile.
    went_offline = {
        service: [state for at, state in pipeline.tally.statuses(topics.service_status(service)) if at >= since]  # type: ignore[union-attr]
        for service in ("inference-worker-s16", "api")
    }
    machine_states = [state for at, state in pipeline.tally.statuses(topics.status(machine)) if at >= since]  # type: ignore[union-attr]
    if not publishing and machine_states[-1:] == ["offline"]:
        machine_states.pop()
    logs = {
        name: pipeline.tail(pipeline.root / f"{name}.log", 10**7) for name in ("worker-s16", f"publisher-{machine}")
    }
    kicked = {
        name: sum(
            "disconnected from broker" in line and "Normal disconnection" not in line for line in text.splitlines()
        )
        for name, text in logs.items()
    }
    pipeline.wait_publishers(60)
    assert pipeline.wait_stored(READINGS, 60), f"only {pipeline.stored_count()} stored"
    figures = pipeline.outcome()
    refused = sum(1 for _s, _v, login in attempts if login.reason == NOT_AUTHORIZED and not login.session_present)
    report(
        "S16",
        **figures,
        attempts=len(attempts),
        refused=refused,
        own_id_logins={name: login.reason for name, login in own_ids.items()},
        legitimate_disconnects=kicked,
        publisher_still_running_after_attempts=publishing,
        statuses_since_start=went_offline | {machine: machine_states},
    )
    assert refused == len(attempts) == 3 * len(strangers) * len(victims), [a for a in attempts if a[2].reason == 0]
    assert {login.reason for login in own_ids.values()} == {0}  # the control: their own id works
    assert kicked == dict.fromkeys(logs, 0)
    assert "offline" not in [state for states in went_offline.values() for state in states] + machine_states
    assert figures["lost"] == 0
    assert figures["stored"] == READINGS


# ------------------------------------------------------------------------------- S17


def test_s17_hashes_at_rest_use_the_tooling_setting_and_work_after_a_restart(own_broker: LocalBroker) -> None:
    before_start = own_broker.add_user("s17-before", "sensor")  # written to the file, read at start
    while_running = own_broker.add_user("s17-running", "sensor")  # sent to the broker, then to the file
    stored = json.loads(own_broker.accounts.file.read_text())
    iterations = {c["username"]: c["iterations"] for c in stored["clients"]}
    own_broker.restart()  # now every account comes from the file
    logins = {
        name: _login(own_broker, name, password, name).reason
        for name, password in (("s17-before", before_start), ("s17-running", while_running))
    }
    report("S17-hashes", iterations=iterations, logins_after_restart=logins)
    assert set(iterations.values()) == {ITERATIONS}
    assert ITERATIONS > 101  # Mosquitto 2.0's own setting
    assert logins == {"s17-before": 0, "s17-running": 0}


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


def test_s17_add_user_changes_a_role_only_when_asked(tmp_path) -> None:
    env = {"PATH": os.environ["PATH"], "FOREWARN_VAR_DIR": str(tmp_path / "var")}
    assert _cli(env, "init").returncode == 0
    before = (tmp_path / "var" / "broker" / "config" / "dynsec" / "dynamic-security.json").read_text()
    refused = _cli(env, "add-user", "api", "--role", "sensor")  # a sensor named `api` would demote the API
    unchanged = (tmp_path / "var" / "broker" / "config" / "dynsec" / "dynamic-security.json").read_text()
    roles = _cli(env, "list-users").stdout.split("\n")
    created = _cli(env, "add-user", f"m-{uuid.uuid4().hex[:6]}", "--role", "viewer")  # a new name needs no flag
    report("S17-change-role", refused=refused.stderr.strip(), exit=refused.returncode)
    assert refused.returncode == 2
    assert refused.stderr == "error: user 'api' is a viewer; to make it a sensor, add --change-role\n"
    assert unchanged == before
    assert "api viewer" in roles
    assert created.returncode == 0
    moved = _cli(env, "add-user", "api", "--role", "sensor", "--change-role")
    assert moved.returncode == 0
    assert "api sensor" in _cli(env, "list-users").stdout.split("\n")


@pytest.mark.parametrize("name", ["inference-worker-1-out", "broker-admin"])
def test_s17_a_name_taken_by_a_workers_twin_or_the_admin_is_refused(tmp_path, name: str) -> None:
    env = {"PATH": os.environ["PATH"], "FOREWARN_VAR_DIR": str(tmp_path / "var")}
    assert _cli(env, "init").returncode == 0
    taken = _cli(env, "add-user", name, "--role", "sensor")
    assert taken.returncode == 2
    assert taken.stderr == f"error: user name {name!r} is taken by another account\n"
