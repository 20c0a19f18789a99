"""Open alerts survive worker restarts (retained registers), and an offline machine's go stale."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from contract import Status, parse_ts
from tests.support.mqtt import Collector, publish_and_wait
from tests.support.payloads import encode, reading
from tests.support.stack import kill, spawn, start_worker, wait_online, worker_config, worker_env

RESTARTS = 4


@dataclass
class Machine:
    """A sensor of a fresh machine and a viewer of its predictions and alerts."""

    broker: LocalBroker
    machine_id: str
    sensor: mqtt.Client
    viewer: Collector

    def alerts(self) -> list[dict[str, object]]:
        return [json.loads(m.payload) for m in self.viewer.on_topic(self.broker.topics.alerts(self.machine_id))]

    def predicted_ids(self) -> set[str]:
        topic = self.broker.topics.predictions(self.machine_id)
        return {json.loads(m.payload)["reading_id"] for m in self.viewer.on_topic(topic)}

    def send_and_wait_scored(self, payloads: list[dict[str, object]]) -> None:
        for payload in payloads:
            publish_and_wait(self.sensor, self.broker.topics.readings(self.machine_id), encode(payload))
        wanted = {str(p["reading_id"]) for p in payloads}
        self.viewer.wait_for(lambda _m: wanted <= self.predicted_ids(), timeout=60)
        assert wanted <= self.predicted_ids(), "the worker did not score the readings"

    def say(self, status: Status) -> None:
        """Publish its status as a publisher does: retained."""
        topic = self.broker.topics.status(self.machine_id)
        self.sensor.publish(topic, status.to_json(), qos=1, retain=True).wait_for_publish(timeout=10)

    def go_offline(self, status: Status) -> None:
        """What a publisher does when it stops: say offline, then leave for good."""
        self.say(status)
        self.sensor.disconnect()
        self.sensor.loop_stop()


@pytest.fixture
def machine(broker: LocalBroker, machine_id: str) -> Iterator[Machine]:
    topics = broker.topics
    viewer = Collector(
        broker.settings("viewer-alert-state", broker.add_user("viewer-alert-state", "viewer")),
        [topics.predictions(machine_id), topics.alerts(machine_id)],
    )
    settings = broker.settings(machine_id, broker.add_user(machine_id, "sensor"))
    status = topics.status(machine_id)
    sensor = create_client(settings, status)
    connect_client(sensor, settings, status_topic=status)
    assert wait_connected(sensor)
    yield Machine(broker, machine_id, sensor, viewer)
    sensor.disconnect()
    sensor.loop_stop()
    viewer.close()


def _bad_spell(count: int) -> list[dict[str, object]]:
    """Readings that keep both kinds of alert open: failures, and worn tools (an early warning)."""
    failed = {"failure": 1, "failure_description": "Power Failure", "torque_nm": 70.0}
    return [reading(**failed) if n % 2 == 0 else reading(tool_wear_min=195) for n in range(count)]


def test_restarting_the_worker_mid_alert_keeps_one_open_alert_per_kind(
    broker: LocalBroker, models_dir: Path, machine: Machine, tmp_path: Path
) -> None:
    env = worker_env(broker, models_dir, "alert-state", broker.add_user("inference-worker-alert-state", "worker"))
    log = tmp_path / "worker.log"
    worker = spawn("inference_worker", env, log)
    try:
        wait_online(broker, "inference-worker-alert-state")
        for restart in range(RESTARTS + 1):
            machine.send_and_wait_scored(_bad_spell(6))
            if restart < RESTARTS:  # SIGKILL mid-alert: nothing of it is left in memory
                kill(worker)
                worker = spawn("inference_worker", env, log)
        time.sleep(1.0)  # any extra alert event would have arrived by now
    finally:
        kill(worker)
    events = machine.alerts()
    opened = sorted(str(e["kind"]) for e in events if e["state"] == "open")
    assert opened == ["detected", "predicted"], f"{len(events)} alert events: {events}; log: {log.read_text()[-2000:]}"
    assert [e for e in events if e["state"] != "open"] == []
    # Every restart loaded them (and any other test's machines' on this session-wide broker).
    loads = [int(n) for n in re.findall(r"alert state loaded: (\d+) open alerts", log.read_text())]
    assert len(loads) >= RESTARTS + 1
    assert all(n >= 2 for n in loads[1:]), loads


def test_an_offline_machine_s_alerts_go_stale_and_the_clock_survives_a_restart(
    broker: LocalBroker, models_dir: Path, machine: Machine
) -> None:
    stale_after = 4.0
    config = worker_config(broker, models_dir, "stale-a", stale_after_s=stale_after)
    first = start_worker(config)
    wait_online(broker, config.instance)
    second = None
    try:
        machine.send_and_wait_scored(_bad_spell(2))
        machine.viewer.wait_for(lambda _m: len(machine.alerts()) >= 2, timeout=10)
        offline = Status("offline")
        machine.go_offline(offline)
        time.sleep(1.0)  # the worker has seen it go offline and written the time to the registers
        first.stop()
        time.sleep(1.0)
        second = start_worker(worker_config(broker, models_dir, "stale-b", stale_after_s=stale_after))
        machine.viewer.wait_for(lambda _m: sum(e["state"] == "cleared" for e in machine.alerts()) >= 2, timeout=15)
    finally:
        first.stop()
        if second is not None:
            second.stop()
    events = machine.alerts()
    cleared = [e for e in events if e["state"] == "cleared"]
    assert sorted(str(e["kind"]) for e in cleared) == ["detected", "predicted"], events
    assert {e["cleared_reason"] for e in cleared} == {"offline"}
    # Counted from when the first worker saw the machine go offline, not from the second's start.
    went_offline = parse_ts(offline.ts)
    for event in cleared:
        late = parse_ts(str(event["cleared_at"])) - went_offline
        assert timedelta(seconds=stale_after) <= late < timedelta(seconds=stale_after + 1.0), event


def test_a_machine_back_online_keeps_its_alerts(broker: LocalBroker, models_dir: Path, machine: Machine) -> None:
    config = worker_config(broker, models_dir, "stale-c", stale_after_s=2.0)
    worker = start_worker(config)
    wait_online(broker, config.instance)
    try:
        machine.send_and_wait_scored(_bad_spell(1))
        machine.say(Status("offline"))
        time.sleep(0.5)
        machine.say(Status("online"))
        time.sleep(3.0)  # past the stale time, had it gone on counting
    finally:
        worker.stop()
    assert [e["state"] for e in machine.alerts()] == ["open"]
