"""The bulk-reading, bulk-acknowledging paho client (common/paho_bulk.py) against the real broker.

Every message arrives once, whole and in order (small ones many to a read, large ones over
several reads), and `ack_many` acknowledges exactly the messages it is given: after a reconnect
of the persistent session the broker delivers again those left unacknowledged, and only them.
"""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
import pytest

from broker.local import LocalBroker
from common.mqtt import MqttSettings, connect_client, create_client, wait_connected
from common.paho_bulk import BulkClient
from tests.support.mqtt import publish_and_wait

MESSAGES = 1_500
LEFT_UNACKED = 10


def _payload(n: int) -> bytes:
    # mostly small (many packets in one read); every 50th spans several TLS records, so several
    # reads (a read returns at most one record, 16 KiB), within the broker's 64 KiB message limit
    size = 40_000 if n % 50 == 7 else 40 + n % 900
    return f"{n:06d}:".encode() + bytes((n + i) % 251 for i in range(size))


class _Consumer:
    """A manual-ack BulkClient whose acknowledgements come from another thread, as the API's writer's do."""

    def __init__(self, settings: MqttSettings, topic: str, ack_up_to: int) -> None:
        self.received: list[tuple[bytes, bool]] = []  # (payload, dup flag)
        self._mids: list[int] = []
        self._acked = 0
        self._ack_up_to = ack_up_to
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.client = create_client(settings, status_topic=None, manual_ack=True, max_inflight=1000, bulk_io=True)
        assert isinstance(self.client, BulkClient)
        self.client.on_message = self._on_message
        connect_client(self.client, settings, subscriptions=[(topic, 1)])
        assert wait_connected(self.client)
        self._acker = threading.Thread(target=self._ack_loop, daemon=True)
        self._acker.start()

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append((bytes(message.payload), bool(message.dup)))
            self._mids.append(message.mid)

    def _ack_loop(self) -> None:
        while not self._stop.wait(0.02):
            with self._lock:
                todo = self._mids[self._acked : self._ack_up_to]
                self._acked += len(todo)
            assert isinstance(self.client, BulkClient)
            self.client.ack_many(todo)

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count and self._acked >= min(count, self._ack_up_to):
                    return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self._stop.set()
        self._acker.join(timeout=5)
        time.sleep(0.5)  # the network thread writes the last PUBACKs queued
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def names(machine_id: str) -> tuple[str, str]:
    return f"w-{machine_id}", f"v-{machine_id}"


def test_every_message_arrives_once_and_only_the_unacknowledged_come_again(
    broker: LocalBroker, machine_id: str, names: tuple[str, str]
) -> None:
    producer_name, consumer_name = names
    producer_settings = broker.settings(producer_name, broker.add_user(producer_name, "worker"))
    consumer_settings = broker.settings(consumer_name, broker.add_user(consumer_name, "viewer"), session_expiry_s=300)
    topic = broker.topics.predictions(machine_id)
    sent = [_payload(n) for n in range(MESSAGES)]

    consumer = _Consumer(consumer_settings, topic, ack_up_to=MESSAGES - LEFT_UNACKED)
    producer = create_client(producer_settings, status_topic=None)
    connect_client(producer, producer_settings)
    assert wait_connected(producer)
    try:
        for payload in sent[:-1]:
            producer.publish(topic, payload, qos=1)
        assert publish_and_wait(producer, topic, sent[-1]) == 0
        assert consumer.wait_for(MESSAGES, timeout=60), f"{len(consumer.received)} of {MESSAGES} arrived"
    finally:
        consumer.close()
        producer.disconnect()
        producer.loop_stop()
    assert [payload for payload, _dup in consumer.received] == sent
    assert not any(dup for _payload, dup in consumer.received)

    # the same session again: the broker delivers what was not acknowledged, and nothing else
    again = _Consumer(consumer_settings, topic, ack_up_to=LEFT_UNACKED)
    try:
        assert again.wait_for(LEFT_UNACKED, timeout=15)
        time.sleep(2)  # anything acknowledged but delivered again would come in this time
    finally:
        again.close()
    assert [payload for payload, _dup in again.received] == sent[-LEFT_UNACKED:]
    assert all(dup for _payload, dup in again.received)
