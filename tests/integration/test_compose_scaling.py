"""Why each compose replica keeps its worker id (docker/replica_id.py): the broker's side of it.

Mosquitto keeps handing a shared subscription's messages to a member whose client has gone
while its persistent session lives. A worker that came back under a new id (a container's
host name changes whenever compose recreates it) would leave its share stranded in the old
session; coming back under the same id, it scores that share. If a future Mosquitto stops
routing to absent members, the first test fails and docs/SCALING.md's note can go.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from inference_worker.config import WorkerConfig
from inference_worker.service import Worker
from tests.support.mqtt import Collector, Received
from tests.support.payloads import encode, reading
from tests.support.stack import start_worker, wait_online, worker_config

READINGS = 20


@pytest.fixture
def workers(own_broker: LocalBroker, models_dir: Path) -> tuple[WorkerConfig, WorkerConfig]:
    first = worker_config(own_broker, models_dir, "1")
    return first, worker_config(own_broker, models_dir, "2", share_group=first.share_group)


def _publish(broker: LocalBroker, machine: str, count: int) -> None:
    settings = broker.settings(machine, broker.add_user(machine, "sensor"))
    client = create_client(settings, status_topic=None)
    connect_client(client, settings)
    assert wait_connected(client)
    topic = broker.topics.readings(machine)
    infos = [client.publish(topic, encode(reading(reading_id=f"{machine}-{n}")), qos=1) for n in range(count)]
    for info in infos:
        info.wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()


def _scored(messages: list[Received]) -> set[str]:
    return {json.loads(m.payload)["reading_id"] for m in messages}


def test_a_gone_workers_session_keeps_its_share_until_the_same_id_returns(
    own_broker: LocalBroker, workers: tuple[WorkerConfig, WorkerConfig]
) -> None:
    first, second = workers
    running: list[Worker] = [start_worker(first), start_worker(second)]
    machine = f"m-{uuid.uuid4().hex[:12]}"
    viewer = Collector(
        own_broker.settings("viewer-x", own_broker.add_user("viewer-x", "viewer")),
        [own_broker.topics.predictions(machine)],
    )
    try:
        wait_online(own_broker, second.instance)
        running.pop().stop()  # replica 2 leaves; its session (and subscription) stays
        _publish(own_broker, machine, READINGS)
        seen = viewer.wait_for(lambda got: len(_scored(got)) >= READINGS, timeout=5)
        assert len(_scored(seen)) < READINGS  # its round-robin share waits in the absent session
        running.append(start_worker(second))  # back under the same id: it scores its share
        seen = viewer.wait_for(lambda got: len(_scored(got)) >= READINGS, timeout=20)
        assert _scored(seen) == {f"{machine}-{n}" for n in range(READINGS)}
    finally:
        viewer.close()
        for worker in running:
            worker.stop()
