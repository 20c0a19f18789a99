"""The pipeline spine over TLS: readings in, predictions, rejections and alerts out."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from contract import Channel, Prediction, Rejection, parse_prediction
from inference_worker.service import Worker
from tests.support.mqtt import Collector, publish_and_wait
from tests.support.payloads import encode, example, reading
from tests.support.stack import start_worker, worker_config


@pytest.fixture(scope="module")
def worker(broker: LocalBroker, models_dir) -> Iterator[Worker]:
    running = start_worker(worker_config(broker, models_dir, "pipeline-test"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def viewer(broker: LocalBroker) -> Iterator[Collector]:
    topics = broker.topics
    collector = Collector(
        broker.settings("viewer-test", broker.add_user("viewer-test", "viewer")),
        [topics.all_of(Channel.PREDICTIONS), topics.all_of(Channel.REJECTED), topics.all_of(Channel.ALERTS)],
    )
    yield collector
    collector.close()


@pytest.fixture
def sensor(broker: LocalBroker, machine_id: str):
    settings = broker.settings(machine_id, broker.add_user(machine_id, "sensor"))
    client = create_client(settings, broker.topics.status(machine_id))
    connect_client(client, settings, status_topic=broker.topics.status(machine_id))
    assert wait_connected(client)
    yield client
    client.disconnect()
    client.loop_stop()


def _from(collector: Collector, topic: str, count: int, timeout: float = 15.0) -> list[bytes]:
    collector.wait_for(lambda _msgs: len(collector.on_topic(topic)) >= count, timeout)
    return [m.payload for m in collector.on_topic(topic)]


def test_a_reading_from_a_machine_never_seen_before_gets_its_prediction(
    worker: Worker, viewer: Collector, sensor, broker: LocalBroker, machine_id: str
) -> None:
    sent = reading()
    publish_and_wait(sensor, broker.topics.readings(machine_id), encode(sent))
    (payload,) = _from(viewer, broker.topics.predictions(machine_id), 1)
    prediction = parse_prediction(payload)
    assert (prediction.reading_id, prediction.machine_id) == (sent["reading_id"], machine_id)
    assert (prediction.profile, prediction.schema_version) == ("ai4i-mill", 2)
    assert prediction.status == "normal"
    assert prediction.failure_probability is not None
    assert prediction.threshold is not None
    assert 0.0 <= prediction.failure_probability < prediction.threshold
    assert prediction.model_version == worker.models.served()["ai4i-mill"]
    assert prediction.values["torque_nm"] == sent["torque_nm"]


BAD_PAYLOADS = {
    "not_json": b"{oops",
    "too_large": b"{" + b" " * 17_000 + b"}",
    "not_object": b"[]",
    "missing_field": encode({k: v for k, v in reading().items() if k != "tool_wear_min"}),
    "wrong_type": encode(reading(torque_nm="heavy")),
    "not_finite": json.dumps(reading()).replace('"torque_nm": 40.0', '"torque_nm": NaN').encode(),
    "out_of_bounds": encode(reading(air_temp_k=9000)),
    "bad_timestamp": encode(reading(ts="not a time")),
    "machine_mismatch": encode(reading(machine_id="somebody-else")),
}


def test_every_kind_of_bad_payload_is_rejected_with_its_reason_and_scoring_goes_on(
    worker: Worker, viewer: Collector, sensor, broker: LocalBroker, machine_id: str
) -> None:
    rejected_before = sum(worker.metrics.rejected.values())
    for payload in BAD_PAYLOADS.values():
        publish_and_wait(sensor, broker.topics.readings(machine_id), payload)
    good = reading()
    publish_and_wait(sensor, broker.topics.readings(machine_id), encode(good))

    rejections = [Rejection.from_json(p) for p in _from(viewer, broker.topics.rejected(machine_id), len(BAD_PAYLOADS))]
    assert sorted(r.reason for r in rejections) == sorted(BAD_PAYLOADS)
    assert all(r.topic == broker.topics.readings(machine_id) and r.detail for r in rejections)
    (prediction,) = _from(viewer, broker.topics.predictions(machine_id), 1)
    assert Prediction.from_json(prediction).reading_id == good["reading_id"]
    assert sum(worker.metrics.rejected.values()) - rejected_before == len(BAD_PAYLOADS)


def test_an_alert_opens_once_and_clears_once_for_a_machine_that_goes_bad_then_recovers(
    worker: Worker, viewer: Collector, sensor, broker: LocalBroker, machine_id: str
) -> None:
    topic = broker.topics.readings(machine_id)
    spell = [reading(failure=1, failure_description="Power Failure") for _ in range(30)]
    calm = [reading() for _ in range(10)]
    for payload in spell + calm:
        publish_and_wait(sensor, topic, encode(payload))
    _from(viewer, broker.topics.predictions(machine_id), len(spell) + len(calm))
    time.sleep(0.5)  # any extra alert would have arrived by now
    alerts = [json.loads(m.payload) for m in viewer.on_topic(broker.topics.alerts(machine_id))]
    detected = [(a["state"], a["reading_id"]) for a in alerts if a["kind"] == "detected"]
    assert detected == [("open", spell[0]["reading_id"]), ("cleared", spell[0]["reading_id"])]


def test_a_failing_reading_is_explained_and_a_worn_tool_raises_an_early_warning(
    worker: Worker, viewer: Collector, sensor, broker: LocalBroker, machine_id: str
) -> None:
    failing = example("reading") | {"reading_id": "explain-me", "ts": reading()["ts"]}
    worn = reading(tool_wear_min=192)
    for payload in (failing, worn):
        publish_and_wait(sensor, broker.topics.readings(machine_id), encode(payload))
    explained, warned = (Prediction.from_json(p) for p in _from(viewer, broker.topics.predictions(machine_id), 2))
    assert explained.status == "failure"
    assert explained.explanation is not None
    shown = sum(c["contribution"] for c in explained.explanation["contributions"])
    total = explained.explanation["base_value"] + shown + explained.explanation["rest"]
    assert abs(total - explained.failure_probability) < 0.01
    assert {c["mode"] for c in explained.explanation["conditions"]} >= {"PWF"}
    assert warned.status == "normal"
    assert warned.explanation is not None
    assert warned.explanation["early_warning"]["mode"] == "TWF"
    alerts = [json.loads(p) for p in _from(viewer, broker.topics.alerts(machine_id), 2)]
    early = [a for a in alerts if a["kind"] == "predicted"]
    assert len(early) == 1
    assert "early warning" in early[0]["message"]
