"""Scaling the workers down and back: what the broker does with a worker's session, and how a
stopping worker uses it (inference_worker/service.py, docs/SCALING.md).

Mosquitto keeps handing a shared subscription's messages to a member whose client has gone
while its persistent session lives: a worker that crashed (SIGKILL) finds its share waiting
when it returns under the same id (why each compose replica keeps its number as its id,
docker/replica_id.py). A worker stopped for good while a peer runs leaves the group and ends
its session, so the peer gets every reading. The last worker online keeps its session, so
readings keep queueing for it (a group with no member at all would drop them).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from inference_worker.config import WorkerConfig
from inference_worker.service import Worker
from tests.support.mqtt import Collector, Received
from tests.support.payloads import encode, reading
from tests.support.stack import kill, spawn, start_worker, wait_online, worker_config, worker_env

READINGS = 20


def _publish(broker: LocalBroker, machine: str, count: int) -> list[int]:
    """Publish `count` readings; the PUBACK reason codes (16: nobody subscribed)."""
    settings = broker.settings(machine, broker.add_user(machine, "sensor"))
    client = create_client(settings, status_topic=None)
    codes: list[int] = []
    client.on_publish = lambda _c, _u, _mid, reason, _p: codes.append(reason.value)
    connect_client(client, settings)
    assert wait_connected(client)
    topic = broker.topics.readings(machine)
    infos = [client.publish(topic, encode(reading(reading_id=f"{machine}-{n}")), qos=1) for n in range(count)]
    for info in infos:
        info.wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()
    return codes


def _scored(messages: list[Received]) -> set[str]:
    return {json.loads(m.payload)["reading_id"] for m in messages}


def _viewer(broker: LocalBroker, machine: str) -> Collector:
    name = f"viewer-{uuid.uuid4().hex[:8]}"
    return Collector(broker.settings(name, broker.add_user(name, "viewer")), [broker.topics.predictions(machine)])


def test_a_crashed_workers_session_keeps_its_share_until_the_same_id_returns(
    own_broker: LocalBroker, models_dir: Path, tmp_path: Path
) -> None:
    passwords = {n: own_broker.add_user(f"inference-worker-{n}", "worker") for n in ("1", "2")}
    envs = {n: worker_env(own_broker, models_dir, n, password) for n, password in passwords.items()}
    running = {n: spawn("inference_worker", env, tmp_path / f"worker-{n}.log") for n, env in envs.items()}
    machine = f"m-{uuid.uuid4().hex[:12]}"
    viewer = _viewer(own_broker, machine)
    try:
        for number in running:
            wait_online(own_broker, f"inference-worker-{number}", timeout=60)
        kill(running.pop("2"))  # SIGKILL: its session (and its place in the group) stays
        _publish(own_broker, machine, READINGS)
        seen = viewer.wait_for(lambda got: len(_scored(got)) >= READINGS, timeout=5)
        assert len(_scored(seen)) < READINGS  # its round-robin share waits in the absent session
        running["2"] = spawn("inference_worker", envs["2"], tmp_path / "worker-2.log")  # the same id
        seen = viewer.wait_for(lambda got: len(_scored(got)) >= READINGS, timeout=60)
        assert _scored(seen) == {f"{machine}-{n}" for n in range(READINGS)}
    finally:
        viewer.close()
        for process in running.values():
            kill(process)


def test_a_worker_stopped_for_good_leaves_the_group_to_its_peer(own_broker: LocalBroker, models_dir: Path) -> None:
    first = worker_config(own_broker, models_dir, "1")
    second: WorkerConfig = worker_config(own_broker, models_dir, "2", share_group=first.share_group)
    running: list[Worker] = [start_worker(first), start_worker(second)]
    machine = f"m-{uuid.uuid4().hex[:12]}"
    viewer = _viewer(own_broker, machine)
    try:
        wait_online(own_broker, second.instance)
        leaving = running.pop()
        leaving.stop()  # SIGTERM in a process: worker 1 is online, so worker 2 leaves for good
        assert leaving.left_group
        codes = _publish(own_broker, machine, READINGS)
        seen = viewer.wait_for(lambda got: len(_scored(got)) >= READINGS, timeout=20)
        assert set(codes) == {0}
        assert _scored(seen) == {f"{machine}-{n}" for n in range(READINGS)}  # all scored by worker 1
        assert running[0].metrics.received >= READINGS
    finally:
        viewer.close()
        for worker in running:
            worker.stop()


def test_the_last_worker_online_keeps_its_session_and_readings_wait_for_it(
    own_broker: LocalBroker, models_dir: Path
) -> None:
    config = worker_config(own_broker, models_dir, "1")
    worker = start_worker(config)
    machine = f"m-{uuid.uuid4().hex[:12]}"
    viewer = _viewer(own_broker, machine)
    try:
        wait_online(own_broker, config.instance)
        worker.stop()  # no other worker online: it keeps its session, and its place in the group
        assert not worker.left_group
        codes = _publish(own_broker, machine, READINGS)
        assert set(codes) == {0}  # queued for it (not 16, "no matching subscribers")
        worker = start_worker(config)
        seen = viewer.wait_for(lambda got: len(_scored(got)) >= READINGS, timeout=20)
        assert _scored(seen) == {f"{machine}-{n}" for n in range(READINGS)}
    finally:
        viewer.close()
        worker.stop()
