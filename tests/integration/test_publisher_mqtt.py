"""The publisher against a real Mosquitto: deliveries checked at a subscriber, across outages.

Each test uses its own machine id (the `machine_id` fixture), hence its own topics and outbox.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from itertools import islice
from pathlib import Path

import pytest

from broker.local import LocalBroker, free_port
from common.settings import ConfigError
from contract import InvalidReading, Reading, Status, parse_reading
from publisher.config import PublisherConfig
from publisher.sample import Sample
from publisher.service import ReadingPublisher, Sourced, run
from publisher.sources import simulated_items
from tests.support.mqtt import Collector, Received


def publisher_config(
    broker: LocalBroker, machine: str, password: str, tmp_path: Path, **overrides: object
) -> PublisherConfig:
    settings = broker.settings(machine, password, client_id=f"{machine}-pub-{uuid.uuid4().hex[:6]}")
    values: dict[str, object] = {
        "machine_id": machine,
        "mqtt": settings,
        "topics": broker.topics,
        "outbox_path": tmp_path / "outbox" / f"{machine}.db",
        "outbox_max_rows": 1_000,
        "max_inflight": 100,
        "stats_interval_s": 60.0,
        "flush_timeout_s": 10.0,
    } | overrides
    return PublisherConfig(**values)  # type: ignore[arg-type]


def watch(broker: LocalBroker, machine: str, persistent: bool = False) -> Collector:
    """A viewer subscribed to the machine's readings and status (a persistent session if asked)."""
    viewer = f"v-{machine}"
    password = broker.add_user(viewer, "viewer")
    settings = broker.settings(viewer, password, session_expiry_s=3600 if persistent else 0)
    return Collector(settings, [broker.topics.readings(machine), broker.topics.status(machine)])


def readings(messages: list[Received]) -> list[Reading]:
    return [parse_reading(m.payload) for m in messages if m.topic.endswith("/readings")]


def deliver(
    publisher: ReadingPublisher, collector: Collector, expected: list[str], timeout: float = 30.0
) -> list[Reading]:
    """Keep the publisher working until every expected reading reached the collector."""
    deadline = time.monotonic() + timeout
    while True:
        publisher.wait_until(time.monotonic() + 0.1)
        got = readings(collector.wait_for(lambda _messages: True, timeout=0))
        missing = set(expected) - {r.reading_id for r in got}
        if not missing:
            return got
        assert time.monotonic() < deadline, f"{len(missing)} of {len(expected)} readings never arrived"


def offer(publisher: ReadingPublisher, items: Iterator[Sourced], count: int) -> list[str]:
    return [publisher.offer(item.sample) for item in islice(items, count)]


@pytest.fixture
def sensor(broker: LocalBroker, machine_id: str) -> str:
    return broker.add_user(machine_id, "sensor")


def test_readings_arrive_in_order_between_online_and_offline(
    broker: LocalBroker, machine_id: str, sensor: str, tmp_path: Path
) -> None:
    collector = watch(broker, machine_id)
    publisher = ReadingPublisher(publisher_config(broker, machine_id, sensor, tmp_path))
    publisher.start()
    run(publisher, simulated_items(seed=1, categories=None, count=30), rate_hz=0)
    publisher.close()
    expected = [f"{machine_id}-{publisher.run_id}-{n:06d}" for n in range(1, 31)]
    status_topic = broker.topics.status(machine_id)

    def offline_seen(messages: list[Received]) -> bool:
        return any(Status.from_json(m.payload).state == "offline" for m in messages if m.topic == status_topic)

    messages = collector.wait_for(lambda m: len(readings(m)) >= 30 and offline_seen(m))
    collector.close()
    got = readings(messages)
    assert [r.reading_id for r in got] == expected
    simulated = [item.sample for item in simulated_items(seed=1, categories=None, count=30)]
    assert [(r.values, r.failure) for r in got] == [(s.values, s.failure) for s in simulated]
    states = [Status.from_json(m.payload).state for m in messages if m.topic == status_topic]
    assert states[0] == "online"
    assert states[-1] == "offline"
    assert publisher.sender.counters.acked == 30
    assert publisher.outbox.depth == 0


def test_readings_taken_while_the_broker_is_down_arrive_after_it_returns(
    own_broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    password = own_broker.add_user(machine_id, "sensor")
    collector = watch(own_broker, machine_id, persistent=True)
    publisher = ReadingPublisher(publisher_config(own_broker, machine_id, password, tmp_path, max_inflight=10))
    publisher.start()
    items = simulated_items(seed=2, categories={"type": "H"}, count=None)
    before = offer(publisher, items, 5)
    deliver(publisher, collector, before)

    own_broker.stop()
    during = offer(publisher, items, 40)
    publisher.wait_until(time.monotonic() + 0.5)
    # The backlog waits in the outbox; at most the window sits in the MQTT client's memory.
    assert publisher.outbox.depth == 40
    assert publisher.sender.in_flight <= 10

    own_broker.start()
    got = deliver(publisher, collector, before + during, timeout=40)
    publisher.close()
    collector.close()
    assert {r.reading_id for r in got} == set(before + during)  # duplicates are allowed
    assert publisher.outbox.depth == 0


def test_a_restarted_publisher_first_sends_what_the_last_one_left(
    broker: LocalBroker, machine_id: str, sensor: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    collector = watch(broker, machine_id)
    # The first run never reaches a broker, and its outbox holds only 15 readings.
    nowhere = replace(broker.settings(machine_id, sensor, client_id=f"{machine_id}-a"), port=free_port())
    first = ReadingPublisher(
        publisher_config(broker, machine_id, sensor, tmp_path, outbox_max_rows=15, flush_timeout_s=0.2, mqtt=nowhere)
    )
    first.start()
    left = offer(first, simulated_items(seed=3, categories=None, count=None), 20)
    first.close()
    assert first.outbox.dropped == 5
    assert "dropped the 1 oldest readings, 5 dropped since start" in caplog.text

    second = ReadingPublisher(publisher_config(broker, machine_id, sensor, tmp_path))
    second.start()
    fresh = offer(second, simulated_items(seed=4, categories=None, count=None), 5)
    got = [r.reading_id for r in deliver(second, collector, left[5:] + fresh)]
    second.close()
    collector.close()
    assert got == left[5:] + fresh  # the newest 15 of the first run, in order, then the new ones
    assert second.run_id != first.run_id


def test_a_reading_the_contract_refuses_is_not_queued(
    broker: LocalBroker, machine_id: str, sensor: str, tmp_path: Path
) -> None:
    publisher = ReadingPublisher(publisher_config(broker, machine_id, sensor, tmp_path))
    hot = Sample(
        {
            "type": "L",
            "air_temp_k": 900.0,
            "process_temp_k": 310.0,
            "rotational_speed_rpm": 1500.0,
            "torque_nm": 40.0,
            "tool_wear_min": 10.0,
        },
    )
    with pytest.raises(InvalidReading, match="out_of_bounds"):
        publisher.offer(hot)
    assert publisher.outbox.depth == 0
    publisher.close()


def test_an_account_that_may_not_publish_stops_the_publisher_with_the_readings_kept(
    broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    # A viewer account may not write a machine's topics: Mosquitto answers "Not authorized" and
    # drops the link, so carrying on would only reconnect and be refused again, forever.
    password = broker.add_user(machine_id, "viewer")
    publisher = ReadingPublisher(publisher_config(broker, machine_id, password, tmp_path))
    publisher.start()
    items = simulated_items(seed=5, categories=None, count=None)
    run(publisher, islice(items, 10_000), rate_hz=20)  # returns early, once refused
    publisher.close()
    assert publisher.sequence < 10_000
    assert publisher.outbox.depth == publisher.sequence  # nothing lost: it waits for a fixed account
    assert publisher.sender.counters.acked == 0
    refusal = publisher.refusal()
    assert refusal is not None
    assert "Not authorized" in refusal
    assert "sensor role" in refusal


def test_readings_in_flight_when_the_broker_crashes_are_sent_again(
    own_broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    password = own_broker.add_user(machine_id, "sensor")
    collector = watch(own_broker, machine_id, persistent=True)
    publisher = ReadingPublisher(publisher_config(own_broker, machine_id, password, tmp_path))
    publisher.start()
    items = simulated_items(seed=6, categories=None, count=None)
    first = offer(publisher, items, 3)
    deliver(publisher, collector, first)
    broker_process = own_broker.process
    assert broker_process is not None
    broker_process.send_signal(signal.SIGUSR1)  # Mosquitto saves its sessions: the collector's survives
    time.sleep(0.5)
    broker_process.send_signal(signal.SIGSTOP)  # frozen: reads nothing more, acknowledges nothing
    in_flight = offer(publisher, items, 20)
    publisher.wait_until(time.monotonic() + 0.5)
    assert publisher.sender.in_flight == 20  # sent, not acknowledged
    own_broker.stop(signal.SIGKILL)  # the crash
    own_broker.start()
    got = deliver(publisher, collector, first + in_flight, timeout=40)
    publisher.close()
    collector.close()
    assert {r.reading_id for r in got} == set(first + in_flight)
    assert publisher.outbox.depth == 0


def test_two_publishers_cannot_share_one_outbox(
    broker: LocalBroker, machine_id: str, sensor: str, tmp_path: Path
) -> None:
    config = publisher_config(broker, machine_id, sensor, tmp_path)
    first = ReadingPublisher(config)
    with pytest.raises(ConfigError, match=f"another publisher for {machine_id} is running"):
        ReadingPublisher(config)
    first.close()
    ReadingPublisher(config).close()  # free again once the first has stopped


def test_an_outbox_that_is_not_a_database_is_named(
    broker: LocalBroker, machine_id: str, sensor: str, tmp_path: Path
) -> None:
    config = publisher_config(broker, machine_id, sensor, tmp_path)
    config.outbox_path.parent.mkdir(parents=True)
    config.outbox_path.write_bytes(b"this is no SQLite file, just text long enough to have a header" * 4)
    with pytest.raises(ConfigError, match=f"outbox {config.outbox_path}: file is not a database"):
        ReadingPublisher(config)
