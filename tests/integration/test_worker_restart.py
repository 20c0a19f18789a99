"""Kill the worker mid-stream and restart it: every reading still gets a prediction."""

from __future__ import annotations

import json
import time

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from contract import Channel
from tests.support.mqtt import Collector
from tests.support.payloads import encode, reading
from tests.support.stack import kill, spawn, wait_online, worker_env

READINGS = 3000


def _predicted_ids(collector: Collector) -> set[str]:
    return {json.loads(m.payload)["reading_id"] for m in collector.messages if "/predictions" in m.topic}


def test_a_killed_worker_loses_nothing(broker: LocalBroker, models_dir, machine_id: str, tmp_path) -> None:
    env = worker_env(broker, models_dir, "restart-test", broker.add_user("inference-worker-restart-test", "worker"))
    # A group of its own: the session broker keeps other modules' stopped workers in the default
    # group, and Mosquitto queues a share of every reading for such offline members.
    env["FOREWARN_SHARE_GROUP"] = "restart-test"
    viewer = Collector(
        broker.settings("viewer-restart", broker.add_user("viewer-restart", "viewer")),
        [broker.topics.all_of(Channel.PREDICTIONS)],
    )
    worker = spawn("inference_worker", env, tmp_path / "worker.log")
    wait_online(broker, "inference-worker-restart-test")  # its session exists from then on
    sensor_settings = broker.settings(machine_id, broker.add_user(machine_id, "sensor"))
    sensor = create_client(sensor_settings, None)
    connect_client(sensor, sensor_settings)
    assert wait_connected(sensor)
    sent = [reading() for _ in range(READINGS)]
    infos = []
    try:
        for n, payload in enumerate(sent):
            infos.append(sensor.publish(broker.topics.readings(machine_id), encode(payload), qos=1))
            if n == READINGS // 3:
                viewer.wait_for(lambda msgs: len(msgs) > 100, timeout=30)
                kill(worker)  # SIGKILL: no goodbye, unacknowledged readings stay with the broker
                worker = spawn("inference_worker", env, tmp_path / "worker.log")
            if n % 200 == 0:
                time.sleep(0.05)
        for info in infos:
            info.wait_for_publish(timeout=30)
        expected = {p["reading_id"] for p in sent}
        viewer.wait_for(lambda _msgs: expected <= _predicted_ids(viewer), timeout=60)
        missing = expected - _predicted_ids(viewer)
        log_tail = (tmp_path / "worker.log").read_text()[-3000:]
        assert not missing, f"{len(missing)} readings never scored; worker log: {log_tail}"
    finally:
        kill(worker)
        sensor.disconnect()
        sensor.loop_stop()
        viewer.close()
