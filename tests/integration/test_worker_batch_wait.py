"""The worker's batch wait: readings arriving within it are scored as one batch; read from the
environment with its default, 0 to turn it off, and a one-line error naming a bad value."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from common.settings import ConfigError
from contract import parse_prediction
from inference_worker.config import load
from tests.support.mqtt import Collector, publish_and_wait
from tests.support.payloads import encode, reading
from tests.support.stack import start_worker, worker_config


def test_readings_arriving_within_the_wait_are_scored_as_one_batch(
    broker: LocalBroker, models_dir: Path, machine_id: str
) -> None:
    topics = broker.topics
    viewer = Collector(
        broker.settings(f"viewer-{machine_id}", broker.add_user(f"viewer-{machine_id}", "viewer")),
        [topics.predictions(machine_id)],
    )
    worker = start_worker(worker_config(broker, models_dir, f"wait-{machine_id}", batch_wait_s=0.6))
    settings = broker.settings(machine_id, broker.add_user(machine_id, "sensor"))
    sensor = create_client(settings, topics.status(machine_id))
    connect_client(sensor, settings, status_topic=topics.status(machine_id))
    try:
        assert wait_connected(sensor)
        sent = [reading() for _ in range(4)]
        for one in sent:  # 0.1 s apart: a worker without the wait scores each alone
            publish_and_wait(sensor, topics.readings(machine_id), encode(one))
            time.sleep(0.1)
        viewer.wait_for(lambda messages: len(messages) >= 4, 15.0)
        predictions = [parse_prediction(m.payload) for m in viewer.on_topic(topics.predictions(machine_id))]
    finally:
        sensor.disconnect()
        sensor.loop_stop()
        worker.stop()
        viewer.close()
    assert sorted(p.reading_id for p in predictions) == sorted(one["reading_id"] for one in sent)
    assert len({p.scored_at for p in predictions}) == 1  # one batch, one scoring time


@pytest.fixture(name="worker_env")
def worker_env_fixture(clean_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean environment (tests/conftest.py) with what a worker cannot start without."""
    clean_env.setenv("FOREWARN_MQTT_PASSWORD", "secret")
    clean_env.setenv("FOREWARN_WORKER_ID", "1")
    return clean_env


def test_the_default_wait_is_20_ms_and_0_turns_it_off(worker_env: pytest.MonkeyPatch) -> None:
    assert load().batch_wait_s == pytest.approx(0.020)
    worker_env.setenv("FOREWARN_BATCH_WAIT_MS", "0")
    assert load().batch_wait_s == 0.0


@pytest.mark.parametrize("value", ["501", "-5", "a while"])
def test_a_bad_wait_is_a_one_line_error_naming_the_setting(worker_env: pytest.MonkeyPatch, value: str) -> None:
    worker_env.setenv("FOREWARN_BATCH_WAIT_MS", value)
    with pytest.raises(ConfigError, match="FOREWARN_BATCH_WAIT_MS") as caught:
        load()
    assert "\n" not in str(caught.value)
