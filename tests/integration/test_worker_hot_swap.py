"""A new model goes live without a restart, and no reading is lost or scored twice."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from contract import Channel, Prediction
from model.artifact import current_version
from tests.support.mqtt import Collector
from tests.support.payloads import encode, reading
from tests.support.stack import REPO_ROOT, start_worker, worker_config


def test_the_worker_swaps_in_a_new_current_model_between_batches(
    broker: LocalBroker, models_dir, machine_id: str, tmp_path
) -> None:
    models = tmp_path / "models"
    shutil.copytree(models_dir, models)
    old = current_version(models)
    worker = start_worker(worker_config(broker, models, "hot-swap", model_poll_s=0.5))
    viewer = Collector(
        broker.settings("viewer-swap", broker.add_user("viewer-swap", "viewer")),
        [broker.topics.all_of(Channel.PREDICTIONS)],
    )
    settings = broker.settings(machine_id, broker.add_user(machine_id, "sensor"))
    sensor = create_client(settings, None)
    connect_client(sensor, settings)
    assert wait_connected(sensor)
    sent: list[str] = []

    def publish(count: int) -> None:
        for _ in range(count):
            payload = reading()
            sent.append(payload["reading_id"])
            sensor.publish(broker.topics.readings(machine_id), encode(payload), qos=1).wait_for_publish(10)

    def versions() -> list[str | None]:
        return [Prediction.from_json(m.payload).model_version for m in viewer.messages]

    try:
        publish(50)
        subprocess.run(
            [sys.executable, "-m", "training", "--models-dir", str(models), "--seed", "7"],
            check=True,
            cwd=REPO_ROOT,
            capture_output=True,
            timeout=300,
        )
        new = current_version(models)
        assert new != old
        for _ in range(40):  # until the new model answers (polled every 0.5 s), 20 s at most
            publish(10)
            if viewer.wait_for(lambda _m: new in versions(), timeout=0.5) and new in versions():
                break
        publish(20)
        viewer.wait_for(lambda msgs: len(msgs) >= len(sent), timeout=20)
        scored = Counter(Prediction.from_json(m.payload).reading_id for m in viewer.messages)
        assert set(scored) == set(sent)
        assert max(scored.values()) == 1
        assert versions()[0] == old
        assert versions()[-1] == new
    finally:
        worker.stop()
        sensor.disconnect()
        sensor.loop_stop()
        viewer.close()
