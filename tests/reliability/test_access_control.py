"""S1-S3: nobody gets in who should not, and each role stays inside its own topics.

tests/integration/test_broker_security.py already refuses an anonymous client, a wrong
password, an unknown user, plain TCP and a broker certificate from another CA. Here: old TLS,
removed and rotated accounts, the full ACL matrix of the three roles, and names that could
escape their subtree. Deliveries are checked at subscribers, never trusted from
acknowledgements (an MQTT 3.1.1 client is not told that a publish was denied).

Every account connects under its own name as client id (the broker refuses any other), so
each connection here has an account of its own.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broker.accounts import Accounts
from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from contract import Channel, InvalidName, Topics
from tests.reliability.harness import report, wait_until
from tests.support.mqtt import Collector, Received
from tests.support.payloads import encode, reading
from tests.support.stack import REPO_ROOT

# ------------------------------------------------------------------------------- S1


def _tls_handshake(broker: LocalBroker, version: ssl.TLSVersion, ciphers: str = "DEFAULT:@SECLEVEL=0") -> str:
    context = ssl.create_default_context(cafile=str(broker.ca_file))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is deprecated: that is the point
        context.minimum_version = context.maximum_version = version
    context.set_ciphers(ciphers)  # let the client offer it; the broker must say no
    try:
        with (
            socket.create_connection(("127.0.0.1", broker.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            suite = tls.cipher()
            return f"ok {tls.version()}" + ("" if ciphers.startswith("DEFAULT") or suite is None else f" {suite[0]}")
    except (ssl.SSLError, OSError) as exc:
        return f"refused: {exc}"


def test_s1_tls_below_1_2_is_refused_by_the_broker(broker: LocalBroker) -> None:
    assert _tls_handshake(broker, ssl.TLSVersion.TLSv1_2) == "ok TLSv1.2"
    answer = _tls_handshake(broker, ssl.TLSVersion.TLSv1_1)
    assert "alert protocol version" in answer, answer  # the broker's own alert, not a local refusal


# TLS 1.2 suites a client may offer: CBC (with SHA-1 or SHA-2 MACs), static RSA, and the AEAD ones.
CBC_SUITES = ["ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA", "AES256-SHA"]
AEAD_SUITES = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"]


def test_s1_tls_1_2_only_with_aead_suites_and_tls_1_3_allowed(broker: LocalBroker) -> None:
    answers = {suite: _tls_handshake(broker, ssl.TLSVersion.TLSv1_2, suite) for suite in CBC_SUITES + AEAD_SUITES}
    answers["TLS 1.3"] = _tls_handshake(broker, ssl.TLSVersion.TLSv1_3)
    report("S1-ciphers", **answers)
    for suite in CBC_SUITES:
        assert "handshake failure" in answers[suite], (suite, answers[suite])  # the broker's alert
    for suite in AEAD_SUITES:
        assert answers[suite] == f"ok TLSv1.2 {suite}"
    assert answers["TLS 1.3"] == "ok TLSv1.3"


def _connects(broker: LocalBroker, username: str, password: str) -> bool:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=username, protocol=mqtt.MQTTv5)
    client.tls_set(ca_certs=str(broker.ca_file))
    client.username_pw_set(username, password)
    outcome: list[bool] = []
    client.on_connect = lambda _c, _u, _f, rc, _p: outcome.append(not rc.is_failure)
    client.connect(broker.host, broker.port, keepalive=5)
    client.loop_start()
    deadline = time.monotonic() + 5
    while not outcome and time.monotonic() < deadline:
        time.sleep(0.02)
    client.loop_stop()
    client.disconnect()
    return bool(outcome and outcome[0])


def _connected_client(broker: LocalBroker, name: str, password: str) -> mqtt.Client:
    settings = broker.settings(name, password)
    client = create_client(settings, status_topic=None)
    connect_client(client, settings)
    assert wait_connected(client)
    return client


def test_s1_a_removed_user_and_a_rotated_password_are_refused(broker: LocalBroker, machine_id: str) -> None:
    """Both take effect on the running broker at once, and cut a connection made before."""
    old = broker.add_user(machine_id, "sensor")
    live = _connected_client(broker, machine_id, old)
    new = broker.add_user(machine_id, "sensor")  # rotation: `python -m broker add-user` again
    cut_by_rotation = wait_until(lambda: not live.is_connected(), 5, 0.05)
    live.loop_stop()  # paho would keep trying the old password
    assert not _connects(broker, machine_id, old)
    assert _connects(broker, machine_id, new)
    live = _connected_client(broker, machine_id, new)
    assert broker.remove_user(machine_id)
    cut_by_removal = wait_until(lambda: not live.is_connected(), 5, 0.05)
    live.loop_stop()
    assert not _connects(broker, machine_id, new)
    report("S1-rotation", connection_cut_by_rotation=cut_by_rotation, connection_cut_by_removal=cut_by_removal)
    assert cut_by_rotation
    assert cut_by_removal


# ------------------------------------------------------------------------------- S2


@dataclass(frozen=True)
class Party:
    name: str
    role: str
    password: str


@pytest.fixture
def parties(broker: LocalBroker) -> dict[str, Party]:
    tag = uuid.uuid4().hex[:6]
    wanted = {
        "sensor": f"s2-press-{tag}",
        "other_sensor": f"s2-lathe-{tag}",
        "worker": f"s2-worker-{tag}",
        "viewer": f"s2-viewer-{tag}",
    }
    roles = {"sensor": "sensor", "other_sensor": "sensor", "worker": "worker", "viewer": "viewer"}
    return {key: Party(name, roles[key], broker.add_user(name, roles[key])) for key, name in wanted.items()}


def _account(broker: LocalBroker, role: str, prefix: str) -> Party:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    return Party(name, role, broker.add_user(name, role))


@pytest.fixture
def observers(broker: LocalBroker) -> Iterator[list[Collector]]:
    """Who may read each channel, listening to everything the two test machines could touch."""
    topics = broker.topics
    viewer, worker = _account(broker, "viewer", "s2-watch"), _account(broker, "worker", "s2-watch-worker")
    every_channel = [topics.all_of(channel) for channel in Channel] + [topics.all_service_statuses()]
    watching = [
        Collector(broker.settings(viewer.name, viewer.password), every_channel),
        Collector(broker.settings(worker.name, worker.password), [topics.all_readings_any_depth()]),
    ]
    yield watching
    for collector in watching:
        collector.close()


def _publish_once(broker: LocalBroker, party: Party, topic: str, payload: bytes) -> None:
    """One connection per attempt, so a refusal of one cannot hide another."""
    settings = broker.settings(party.name, party.password)
    client = create_client(settings, status_topic=None)
    connect_client(client, settings)
    try:
        assert wait_connected(client), f"{party.name} could not connect"
        info = client.publish(topic, payload, qos=1)
        deadline = time.monotonic() + 3
        while not info.is_published() and client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        client.disconnect()
        client.loop_stop()


def _forbidden_publishes(topics: Topics, parties: dict[str, Party]) -> list[tuple[str, str]]:
    """(party, topic) for every write outside the party's rights."""
    own, other = parties["sensor"].name, parties["other_sensor"].name
    viewer = parties["viewer"].name
    sensor = [
        topics.readings(other),
        topics.status(other),
        topics.predictions(own),
        topics.alerts(own),
        topics.rejected(own),
        topics.service_status(own),
        topics.readings(own) + "/extra",
    ]
    worker = [topics.readings(own), topics.status(own), topics.readings(own) + "/extra"]
    viewer_rows = [
        topics.readings(own),
        topics.status(own),
        topics.predictions(own),
        topics.alerts(own),
        topics.rejected(own),
        topics.service_status(parties["worker"].name),
    ]
    return (
        [("sensor", t) for t in sensor]
        + [("worker", t) for t in worker]
        + [("viewer", t) for t in viewer_rows]
        + [("viewer", topics.service_status(viewer) + "/x")]
    )


def _marked(messages: list[Received], marker: bytes) -> list[Received]:
    return [m for m in messages if marker in m.payload]


def test_s2_no_role_can_write_outside_its_rights(
    broker: LocalBroker, parties: dict[str, Party], observers: list[Collector]
) -> None:
    marker = f"forged-{uuid.uuid4().hex[:8]}".encode()
    attempts = _forbidden_publishes(broker.topics, parties)

    def attempts_of(party: str) -> None:  # one account connects once at a time
        for who, topic in attempts:
            if who == party:
                _publish_once(broker, parties[who], topic, b'{"note": "' + marker + b'"}')

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(attempts_of, {who for who, _topic in attempts}))
    control = f"allowed-{uuid.uuid4().hex[:8]}".encode()
    own = parties["sensor"].name
    _publish_once(broker, parties["sensor"], broker.topics.readings(own), b'{"note": "' + control + b'"}')
    _publish_once(broker, parties["worker"], broker.topics.predictions(own), b'{"note": "' + control + b'"}')
    for observer in observers:  # the controls prove the observers would have seen a forged message
        observer.wait_for(lambda msgs: len(_marked(msgs, control)) >= 1, timeout=10)
    foreign = [m.topic for observer in observers for m in _marked(observer.messages, marker)]
    seen_controls = sum(len(_marked(observer.messages, control)) for observer in observers)
    report("S2-publish", attempts=len(attempts), foreign_deliveries=len(foreign), controls_seen=seen_controls)
    assert seen_controls >= 3  # readings at both observers, the prediction at the viewer
    assert foreign == []


def _subscriber(broker: LocalBroker, party: Party, filters: list[str]) -> Collector:
    return Collector(broker.settings(party.name, party.password), filters)


def test_s2_no_role_can_read_outside_its_rights(broker: LocalBroker, parties: dict[str, Party]) -> None:
    """Spies of each role (accounts of their own) subscribe outside their rights: every filter is
    refused in the SUBACK, and nothing arrives while the rightful witness sees it all."""
    topics = broker.topics
    other = parties["other_sensor"].name
    spies = {
        "sensor": _subscriber(
            broker,
            parties["sensor"],
            [
                "#",
                f"{topics.prefix}/#",
                topics.readings(other),
                topics.all_of(Channel.PREDICTIONS),
                topics.all_of(Channel.ALERTS),
                topics.all_of(Channel.STATUS),
                topics.all_service_statuses(),
                "$SYS/#",
            ],
        ),
        "worker": _subscriber(
            broker,
            _account(broker, "worker", "s2-spy-worker"),
            [  # not the machines' statuses: workers read them (the stale rule of open alerts)
                topics.all_of(Channel.PREDICTIONS),
                topics.all_of(Channel.REJECTED),
                topics.all_machine_topics(),
                "$SYS/#",
            ],
        ),
        "viewer": _subscriber(
            broker, _account(broker, "viewer", "s2-spy-viewer"), ["$SYS/#", "#", topics.all_machine_topics()]
        ),
    }
    witness = _subscriber(broker, _account(broker, "viewer", "s2-witness"), [topics.all_of(c) for c in Channel])
    try:
        marker = f"legit-{uuid.uuid4().hex[:8]}".encode()
        body = b'{"note": "' + marker + b'"}'
        _publish_once(broker, parties["other_sensor"], topics.readings(other), body)
        _publish_once(broker, parties["other_sensor"], topics.status(other), body)
        for channel in (Channel.PREDICTIONS, Channel.ALERTS, Channel.REJECTED):
            _publish_once(broker, parties["worker"], topics.machine(channel, other), body)
        _publish_once(broker, parties["worker"], topics.service_status(parties["worker"].name), body)
        witness.wait_for(lambda msgs: len(_marked(msgs, marker)) >= 5, timeout=10)
        time.sleep(0.5)  # anything wrongly routed to a spy has arrived by now
        leaked = {who: [m.topic for m in spy.messages] for who, spy in spies.items()}  # none may arrive at all
        refused = {who: len(spy.refused) for who, spy in spies.items()}
        report(
            "S2-subscribe",
            witnessed=len(_marked(witness.messages, marker)),
            foreign_deliveries=sum(len(v) for v in leaked.values()),
            filters_refused=refused,
        )
        assert witness.refused == []
        assert len(_marked(witness.messages, marker)) == 5
        assert leaked == {"sensor": [], "worker": [], "viewer": []}
        assert refused == {"sensor": 8, "worker": 4, "viewer": 3}  # every filter, in the SUBACK
    finally:
        for spy in [*spies.values(), witness]:
            spy.close()


# ------------------------------------------------------------------------------- S3


@pytest.mark.parametrize("name", ["machine-7/evil", "+", "#", "a/#", "press+1", "../x", "", "x" * 65])
def test_s3_names_that_could_escape_their_subtree_are_refused_at_provisioning(tmp_path, name: str) -> None:
    accounts = Accounts(tmp_path / "config", Topics(), tmp_path / "admin.password")
    with pytest.raises(InvalidName):
        accounts.add(name, "sensor")
    assert accounts.users() == {}
    cli = subprocess.run(
        [sys.executable, "-m", "broker", "add-user", name, "--role", "sensor"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "FOREWARN_VAR_DIR": str(tmp_path / "var")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 2
    assert cli.stderr.startswith("error: ")
    assert "Traceback" not in cli.stderr
    assert not (tmp_path / "var" / "broker" / "config" / "dynsec" / "dynamic-security.json").exists()


def test_s3_a_publisher_refuses_such_a_machine_name(tmp_path) -> None:
    cli = subprocess.run(
        [sys.executable, "-m", "publisher", "simulate", "--machine", "machine-7/evil"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "FOREWARN_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 2
    assert cli.stderr.startswith("error: --machine"), cli.stderr


@pytest.fixture
def s3_sensor(broker: LocalBroker, machine_id: str) -> Iterator[tuple[mqtt.Client, Party]]:
    party = Party(machine_id, "sensor", broker.add_user(machine_id, "sensor"))
    settings = broker.settings(machine_id, party.password)
    client = create_client(settings, None)
    connect_client(client, settings)
    assert wait_connected(client)
    yield client, party
    client.disconnect()
    client.loop_stop()


def test_s3_a_payload_for_another_machine_and_extra_topic_levels_are_rejected_and_counted(
    broker: LocalBroker, pipeline_worker, s3_sensor: tuple[mqtt.Client, Party], machine_id: str
) -> None:
    worker, api_rows, watcher = pipeline_worker
    client, _sensor = s3_sensor
    topics = broker.topics
    before = dict(worker.metrics.rejected)
    client.publish(topics.readings(machine_id), encode(reading(machine_id="somebody-else")), qos=1).wait_for_publish(10)
    # Outside its rights: PUBACK 135, after which Mosquitto 2.0.11 (max_queued_messages 0) drops
    # the connection; the sensor reconnects, as a publisher does, and goes on.
    client.publish(topics.readings(machine_id) + "/extra", encode(reading()), qos=1).wait_for_publish(10)
    wait_until(lambda: not client.is_connected(), 2, 0.01)
    assert wait_connected(client, 15)
    good = reading()
    client.publish(topics.readings(machine_id), encode(good), qos=1).wait_for_publish(10)
    assert wait_for_rows(api_rows, machine_id, 1, 30), "the good reading after the bad ones was not stored"
    rejections = watcher.wait_for(lambda msgs: any(m.topic == topics.rejected(machine_id) for m in msgs), 10)
    rejected = [m for m in rejections if m.topic == topics.rejected(machine_id)]
    counted = {k: v - before.get(k, 0) for k, v in worker.metrics.rejected.items() if v != before.get(k, 0)}
    rows = api_rows(machine_id)
    report("S3", rejected_published=len(rejected), rejected_counted=counted, rows_stored=len(rows))
    assert [b'"machine_mismatch"' in m.payload for m in rejected] == [True]
    assert counted == {"machine_mismatch": 1}
    assert rows == [good["reading_id"]]  # nothing from the forged payload or the deeper topic


def wait_for_rows(rows_of, machine_id: str, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(rows_of(machine_id)) >= count:
            return True
        time.sleep(0.1)
    return False
