"""The broker refuses strangers and keeps each role inside its own topics.

Deliveries are checked at a subscriber, never trusted from an acknowledgement.
"""

from __future__ import annotations

import ssl
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broker.local import LocalBroker
from broker.pki import TlsPaths, ensure_pki
from common.mqtt import connect_client, create_client, wait_connected
from tests.support.mqtt import Collector, publish_and_wait


def _connect_result(
    broker: LocalBroker, username: str | None, password: str | None, ca_file: str | None = None, tls: bool = True
) -> str:
    """Try one connection; return 'ok' or the failure in words."""
    client_id = username or f"probe-{uuid.uuid4().hex[:6]}"  # an account connects under its own name
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if tls:
        client.tls_set(ca_certs=ca_file or str(broker.ca_file), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if username is not None:
        client.username_pw_set(username, password)
    outcome: list[str] = []
    client.on_connect = lambda _c, _u, _f, rc, _p: outcome.append("ok" if not rc.is_failure else str(rc))
    try:
        client.connect(broker.host, broker.port, keepalive=5)
    except (ssl.SSLError, OSError) as exc:
        return f"tls: {type(exc).__name__}"
    client.loop_start()
    deadline = time.monotonic() + 5
    while not outcome and time.monotonic() < deadline and client.is_connected() is not None:
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    return outcome[0] if outcome else "no answer"


def test_a_known_sensor_connects(broker: LocalBroker, machine_id: str) -> None:
    password = broker.add_user(machine_id, "sensor")
    assert _connect_result(broker, machine_id, password) == "ok"


@pytest.mark.parametrize("case", ["anonymous", "wrong password", "unknown user"])
def test_strangers_are_refused(broker: LocalBroker, machine_id: str, case: str) -> None:
    broker.add_user(machine_id, "sensor")
    credentials = {
        "anonymous": (None, None),
        "wrong password": (machine_id, "not-the-password"),
        "unknown user": (f"ghost-{machine_id}", "whatever"),
    }[case]
    assert _connect_result(broker, *credentials) != "ok"


def test_plain_tcp_is_refused(broker: LocalBroker, machine_id: str) -> None:
    password = broker.add_user(machine_id, "sensor")
    assert _connect_result(broker, machine_id, password, tls=False) != "ok"


def test_a_broker_signed_by_another_ca_is_refused(broker: LocalBroker, machine_id: str, tmp_path) -> None:
    password = broker.add_user(machine_id, "sensor")
    other = TlsPaths(tmp_path / "other-ca")
    ensure_pki(other)
    assert _connect_result(broker, machine_id, password, ca_file=str(other.ca_cert)).startswith("tls")


def test_a_sensor_cannot_publish_for_another_machine(broker: LocalBroker, machine_id: str) -> None:
    victim = f"{machine_id}-victim"
    attacker_password = broker.add_user(machine_id, "sensor")
    watcher_name = f"watch-{machine_id}"
    watcher = Collector(
        broker.settings(watcher_name, broker.add_user(watcher_name, "viewer")),
        [broker.topics.readings(victim), broker.topics.readings(machine_id)],
    )
    attacker = create_client(broker.settings(machine_id, attacker_password), status_topic=None)
    connect_client(attacker, broker.settings(machine_id, attacker_password))
    try:
        assert wait_connected(attacker)
        publish_and_wait(attacker, broker.topics.readings(victim), b'{"forged": true}')  # PUBACK 135
        # Mosquitto 2.0.11 then drops the client; paho reconnects by itself and sends a QoS 1
        # message queued meanwhile, so the own reading arrives either way.
        attacker.publish(broker.topics.readings(machine_id), b'{"own": true}', qos=1)
        received = watcher.wait_for(lambda msgs: any(m.topic.endswith(machine_id + "/readings") for m in msgs))
        assert {m.topic for m in received} == {broker.topics.readings(machine_id)}
    finally:
        attacker.disconnect()
        attacker.loop_stop()
        watcher.close()


def test_a_fleet_of_sensors_is_added_at_once_each_with_its_own_password(broker: LocalBroker, machine_id: str) -> None:
    names = [f"{machine_id}-{n}" for n in range(3)]
    passwords = broker.add_users(names, "sensor")
    assert sorted(passwords) == names
    assert len(set(passwords.values())) == 3
    assert all(_connect_result(broker, name, passwords[name]) == "ok" for name in names)
    assert _connect_result(broker, names[0], passwords[names[1]]) != "ok"
    assert {broker.accounts.users()[name] for name in names} == {"sensor"}
