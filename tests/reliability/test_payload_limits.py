"""S5 on MQTT: an oversized reading is refused and counted, and never makes a publisher loop.

The broker takes messages up to 64 KiB (message_size_limit) and the worker refuses a reading
over 16 KiB with reason `too_large`. Over 64 KiB Mosquitto 2.0.11 drops the connection instead
of answering, and paho sends the message again after every reconnect: a publisher holding
such a message would reconnect forever. Its sender never sends a row over 16 KiB.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from contract import Channel
from publisher.config import PublisherConfig
from publisher.service import ReadingPublisher
from publisher.sources import simulated_items
from tests.reliability.harness import report, wait_until
from tests.support.payloads import encode, reading

TWENTY_KIB = 20 * 1024


def test_s5_a_20_kib_reading_is_rejected_by_the_worker_and_not_stored(
    broker: LocalBroker, pipeline_worker, machine_id: str
) -> None:
    _worker, rows_of, watcher = pipeline_worker
    settings = broker.settings(machine_id, broker.add_user(machine_id, "sensor"))
    client = create_client(settings, None)
    connect_client(client, settings)
    try:
        assert wait_connected(client)
        big = encode(reading(product_id="x" * TWENTY_KIB))
        client.publish(broker.topics.readings(machine_id), big, qos=1).wait_for_publish(10)
        good = reading()
        client.publish(broker.topics.readings(machine_id), encode(good), qos=1).wait_for_publish(10)
        assert wait_until(lambda: rows_of(machine_id) == [good["reading_id"]], 30), rows_of(machine_id)
        topic = broker.topics.rejected(machine_id)
        rejected = [m for m in watcher.wait_for(lambda ms: any(m.topic == topic for m in ms), 10) if m.topic == topic]
        report("S5-mqtt-20KiB", payload_bytes=len(big), rejections=len(rejected), rows_stored=len(rows_of(machine_id)))
        assert len(rejected) == 1
        assert b'"too_large"' in rejected[0].payload
    finally:
        client.disconnect()
        client.loop_stop()


def test_s5_an_oversized_message_in_the_outbox_is_dropped_not_resent_forever(
    broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    password = broker.add_user(machine_id, "sensor")
    settings = broker.settings(machine_id, password, client_id=f"{machine_id}-pub-{uuid.uuid4().hex[:6]}")
    config = PublisherConfig(
        machine_id=machine_id,
        mqtt=settings,
        topics=broker.topics,
        outbox_path=tmp_path / "outbox.db",
        outbox_max_rows=1000,
        max_inflight=10,
        stats_interval_s=60.0,
        flush_timeout_s=10.0,
    )
    publisher = ReadingPublisher(config)
    topic = broker.topics.readings(machine_id)
    for size in (TWENTY_KIB, 70 * 1024):  # e.g. left by an older version, or a corrupted file
        publisher.outbox.put(topic, b'{"pad": "' + b"x" * size + b'"}')
    viewer = f"v-{machine_id}"
    watcher_settings = broker.settings(viewer, broker.add_user(viewer, "viewer"))
    watcher = create_client(watcher_settings, None)
    arrived: list[bytes] = []
    watcher.on_message = lambda _c, _u, message: arrived.append(bytes(message.payload))
    connect_client(watcher, watcher_settings, subscriptions=[(broker.topics.all_of(Channel.READINGS), 1)])
    connects: list[float] = []
    try:
        assert wait_connected(watcher)
        time.sleep(0.3)
        publisher.start()
        inner = publisher.client.on_connect
        assert inner is not None

        def counting(*args: Any) -> None:
            connects.append(time.monotonic())
            inner(*args)

        publisher.client.on_connect = counting
        for item in simulated_items(seed=3, categories={"type": "L"}, count=5):
            publisher.offer(item.sample)
        assert publisher.flush(15) == 0
        publisher.wait_until(time.monotonic() + 3)  # a reconnect loop would show up here
        counters = publisher.sender.counters
        report(
            "S5-mqtt-outbox",
            refused=counters.refused,
            acked=counters.acked,
            connects_seen=len(connects),
            delivered=len(arrived),
        )
        assert counters.refused == 2
        assert counters.acked == 5
        assert len(connects) <= 1  # the first connection at most (it may precede the counting): no loop
        assert wait_until(lambda: len(arrived) == 5, 10)
        assert all(len(p) < TWENTY_KIB for p in arrived)
    finally:
        publisher.close()
        watcher.disconnect()
        watcher.loop_stop()
