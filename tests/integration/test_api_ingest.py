"""The API fed by a real broker: MQTT in, HTTP and server-sent events out, restarts, bad input.

Predictions and alerts are published as a `worker` user, statuses as the machine's `sensor`
user, exactly as the real services will. Each test waits for its machine's retained status to
show up first: that proves the API's subscription is in place before anything is published.
"""

# response.json is "Any | None" to mypy: indexing it is what these tests do
# mypy: disable-error-code="index"

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from flask import Flask

from api import create_app, runtime_of
from api.config import ApiConfig
from broker.local import LocalBroker
from common.mqtt import MqttSettings, connect_client, create_client, wait_connected
from contract import Status
from tests.support.api import (  # noqa: F401  (fixture)
    TOKEN,
    Served,
    ago,
    alert,
    database_url_fixture,
    prediction,
    test_config,
)
from tests.support.mqtt import publish_and_wait


def _wait(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll until check() is truthy; return its value (the caller asserts on it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _client(settings: MqttSettings) -> mqtt.Client:
    client = create_client(settings, status_topic=None)
    connect_client(client, settings)
    assert wait_connected(client)
    return client


class Plant:
    """One machine's sensor and a worker, publishing on the test broker."""

    def __init__(self, broker: LocalBroker, machine_id: str) -> None:
        self.broker = broker
        self.machine_id = machine_id
        self.sensor = _client(broker.settings(machine_id, broker.add_user(machine_id, "sensor")))
        worker_name = f"w-{machine_id}"
        self.worker = _client(broker.settings(worker_name, broker.add_user(worker_name, "worker")))

    def status(self, state: str) -> None:
        topic = self.broker.topics.status(self.machine_id)
        self.sensor.publish(topic, Status(state).to_json(), qos=1, retain=True).wait_for_publish(10)  # type: ignore[arg-type]

    def predict(self, reading_id: str, **changes: Any) -> None:
        payload = json.dumps(prediction(self.machine_id, reading_id, **changes)).encode()
        assert publish_and_wait(self.worker, self.broker.topics.predictions(self.machine_id), payload) == 0

    def raw(self, payload: bytes) -> None:
        assert publish_and_wait(self.worker, self.broker.topics.predictions(self.machine_id), payload) == 0

    def alert(self, alert_id: str, state: str = "open") -> None:
        payload = json.dumps(alert(self.machine_id, alert_id, state=state)).encode()
        assert publish_and_wait(self.worker, self.broker.topics.alerts(self.machine_id), payload) == 0

    def close(self) -> None:
        for client in (self.sensor, self.worker):
            client.disconnect()
            client.loop_stop()


@pytest.fixture
def plant(broker: LocalBroker, machine_id: str) -> Iterator[Plant]:
    made = Plant(broker, machine_id)
    made.status("online")
    yield made
    made.close()


def _config(broker: LocalBroker, database_url: str, machine_id: str, **overrides: Any) -> ApiConfig:
    name = f"api-{machine_id}"
    mqtt_settings = broker.settings(name, broker.add_user(name, "viewer"), client_id=name, session_expiry_s=600)
    return test_config(database_url, mqtt=mqtt_settings, topics=broker.topics, **overrides)


def _machine(app: Flask, machine_id: str) -> dict[str, Any] | None:
    answer = app.test_client().get(f"/api/machines/{machine_id}")
    return answer.json if answer.status_code == 200 else None


def _started(config: ApiConfig, machine_id: str) -> Flask:
    """A running API whose subscription is proven by the machine's retained status."""
    app = create_app(config)
    assert _wait(lambda: _machine(app, machine_id)), "the retained status never arrived"
    return app


def _read_events(
    response: http.client.HTTPResponse, until: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """Read a live text/event-stream until `until(events)` holds (or the socket times out)."""
    events: list[dict[str, Any]] = []
    block: dict[str, str] = {}
    while not until(events):
        line = response.readline().decode().rstrip("\n")
        if line == "":
            if "data" in block:
                events.append({"id": int(block["id"]), "event": block["event"], "data": json.loads(block["data"])})
            block = {}
        elif not line.startswith(":") and ": " in line:
            key, value = line.split(": ", 1)
            block[key] = value
    return events


def test_a_prediction_on_mqtt_reaches_the_machines_and_the_event_stream(
    broker: LocalBroker, plant: Plant, database_url: str
) -> None:
    app = _started(_config(broker, database_url, plant.machine_id), plant.machine_id)
    served = Served(app)
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        connection.request("GET", "/api/events")
        stream = connection.getresponse()
        assert stream.status == 200
        assert stream.getheader("Content-Type", "").startswith("text/event-stream")
        plant.predict("r1", status="predictive", failure_probability=0.7)
        events = _read_events(
            stream,
            lambda got: any(e["event"] == "prediction" and e["data"]["machine_id"] == plant.machine_id for e in got),
        )
        mine = [e for e in events if e["event"] == "prediction" and e["data"]["machine_id"] == plant.machine_id]
        assert mine[0]["data"]["reading_id"] == "r1"
        assert mine[0]["data"]["status"] == "predictive"
        summary = _machine(app, plant.machine_id)
        assert summary is not None
        assert summary["latest"]["reading_id"] == "r1"
        assert summary["online"] is True
        assert summary["counts"]["predictive"] == 1
        health = app.test_client().get("/api/health")
        assert health.status_code == 200
        assert health.json["broker_connected"] is True
    finally:
        connection.close()
        runtime_of(app).stop()
        served.close()


def test_a_restart_loses_no_history_and_duplicates_nothing(
    broker: LocalBroker, plant: Plant, database_url: str
) -> None:
    config = _config(broker, database_url, plant.machine_id)
    first = _started(config, plant.machine_id)
    for n in range(5):
        plant.predict(f"r{n}", ts=ago(60 - n))
    assert _wait(lambda: (_machine(first, plant.machine_id) or {}).get("counts", {}).get("readings") == 5)
    runtime_of(first).stop()

    # while the API is away: two redeliveries of stored readings, then five new ones
    plant.predict("r0", ts=ago(60))
    plant.predict("r1", ts=ago(59))
    for n in range(5, 10):
        plant.predict(f"r{n}", ts=ago(60 - n))

    second = create_app(config)  # same database, same MQTT client id: the session kept the messages
    try:
        assert _wait(lambda: (_machine(second, plant.machine_id) or {}).get("counts", {}).get("readings") == 10)
        items = second.test_client().get(f"/api/log?machine={plant.machine_id}&limit=100").json["items"]
        assert sorted(item["reading_id"] for item in items) == sorted(f"r{n}" for n in range(10))
        summary = _machine(second, plant.machine_id)
        assert summary is not None
        assert summary["latest"]["reading_id"] == "r9"
        assert summary["counts"]["readings"] == 10
    finally:
        runtime_of(second).stop()


def test_malformed_messages_are_counted_and_the_ingest_goes_on(
    broker: LocalBroker, plant: Plant, tmp_path: Any
) -> None:
    app = _started(_config(broker, f"sqlite:///{tmp_path / 'api.db'}", plant.machine_id), plant.machine_id)
    try:
        plant.raw(b"not json at all")
        plant.raw(json.dumps(prediction("someone-else", "x1")).encode())  # machine differs from the topic
        plant.raw(json.dumps({**prediction(plant.machine_id, "x2"), "status": "exploded"}).encode())
        plant.predict("ok-1")
        assert _wait(lambda: (_machine(app, plant.machine_id) or {}).get("latest"))
        health = app.test_client().get("/api/health").json
        assert health["malformed_messages"] >= 3
        assert health["status"] == "ok"
        items = app.test_client().get(f"/api/log?machine={plant.machine_id}").json["items"]
        assert [item["reading_id"] for item in items] == ["ok-1"]
    finally:
        runtime_of(app).stop()


def _service_state(app: Flask, service: str) -> str | None:
    services: dict[str, dict[str, str]] = app.test_client().get("/api/health").json.get("services", {})  # type: ignore[union-attr]
    return services.get(service, {}).get("state")


def test_a_service_status_on_mqtt_shows_in_health(broker: LocalBroker, plant: Plant, tmp_path: Any) -> None:
    app = _started(_config(broker, f"sqlite:///{tmp_path / 'api.db'}", plant.machine_id), plant.machine_id)
    service = f"w-{plant.machine_id}"  # the plant's worker user announces itself, as workers do
    topic = broker.topics.service_status(service)
    try:
        plant.worker.publish(topic, Status("online").to_json(), qos=1, retain=True).wait_for_publish(10)
        assert _wait(lambda: _service_state(app, service) == "online")
        plant.worker.publish(topic, Status("offline").to_json(), qos=1, retain=True).wait_for_publish(10)
        assert _wait(lambda: _service_state(app, service) == "offline")
    finally:
        plant.worker.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)  # no retained status left behind
        runtime_of(app).stop()


def test_an_alert_on_mqtt_is_listed_acknowledged_and_cleared(broker: LocalBroker, plant: Plant, tmp_path: Any) -> None:
    app = _started(_config(broker, f"sqlite:///{tmp_path / 'api.db'}", plant.machine_id), plant.machine_id)
    client = app.test_client()
    alert_id = f"{plant.machine_id}-predicted-r1"
    try:
        plant.alert(alert_id)
        assert _wait(lambda: (_machine(app, plant.machine_id) or {}).get("open_alerts"))
        acked = client.post(
            f"/api/alerts/{alert_id}/ack", json={"by": "ana"}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert acked.status_code == 200
        assert acked.json["acked_by"] == "ana"
        plant.alert(alert_id, state="cleared")
        assert _wait(lambda: (_machine(app, plant.machine_id) or {"open_alerts": [1]})["open_alerts"] == [])
        stored = client.get(f"/api/alerts?machine={plant.machine_id}").json["alerts"]
        assert [(a["state"], a["acked_by"]) for a in stored] == [("cleared", "ana")]
        assert stored[0]["cleared_at"] is not None
    finally:
        runtime_of(app).stop()


def test_a_sensor_that_goes_offline_is_shown_offline(broker: LocalBroker, plant: Plant, tmp_path: Any) -> None:
    app = _started(_config(broker, f"sqlite:///{tmp_path / 'api.db'}", plant.machine_id), plant.machine_id)
    try:
        assert (_machine(app, plant.machine_id) or {}).get("online") is True
        plant.status("offline")  # what its last will says when its connection dies
        assert _wait(lambda: (_machine(app, plant.machine_id) or {"online": True})["online"] is False)
    finally:
        runtime_of(app).stop()


def test_health_follows_the_broker(own_broker: LocalBroker, machine_id: str, tmp_path: Any) -> None:
    plant = Plant(own_broker, machine_id)
    plant.status("online")
    plant.close()
    app = _started(_config(own_broker, f"sqlite:///{tmp_path / 'api.db'}", machine_id), machine_id)
    client = app.test_client()
    try:
        assert client.get("/api/health").status_code == 200
        own_broker.stop()
        down = _wait(lambda: client.get("/api/health").status_code == 503)
        assert down
        assert client.get("/api/health").json["broker_connected"] is False
        own_broker.start()
        assert _wait(lambda: client.get("/api/health").status_code == 200, timeout=30)
    finally:
        runtime_of(app).stop()


def test_a_challengers_shadow_predictions_are_stored_apart_and_never_count_or_alert(
    broker: LocalBroker, plant: Plant, database_url: str
) -> None:
    app = _started(_config(broker, database_url, plant.machine_id), plant.machine_id)
    shadow_topic = broker.topics.shadow(plant.machine_id)
    try:
        plant.predict("r1", model_version="aaaaaaaaaaaa")
        for version in ("bbbbbbbbbbbb", "bbbbbbbbbbbb", "cccccccccccc"):  # a redelivery, then another challenger
            payload = prediction(plant.machine_id, "r1", status="predictive", model_version=version, shadow=True)
            assert publish_and_wait(plant.worker, shadow_topic, json.dumps(payload).encode()) == 0
        unmarked = prediction(plant.machine_id, "r2", model_version="bbbbbbbbbbbb")  # shadow false on the shadow topic
        assert publish_and_wait(plant.worker, shadow_topic, json.dumps(unmarked).encode()) == 0
        plant.predict("r3", shadow=True)  # a shadow prediction on the champion's topic
        plant.predict("r4")
        runtime = runtime_of(app)
        assert _wait(lambda: (_machine(app, plant.machine_id) or {}).get("counts", {}).get("readings") == 2)
        assert _wait(lambda: runtime.ingest is not None and runtime.ingest.malformed >= 2)
        with runtime.store.engine.connect() as conn:
            stored = conn.execute(
                sa.text(
                    "SELECT reading_id, model_version, status FROM shadow_predictions "
                    "WHERE machine_id = :machine ORDER BY model_version"
                ),
                {"machine": plant.machine_id},
            ).all()
        assert [tuple(row) for row in stored] == [
            ("r1", "bbbbbbbbbbbb", "predictive"),
            ("r1", "cccccccccccc", "predictive"),
        ]
        summary = _machine(app, plant.machine_id)
        assert summary is not None
        assert summary["counts"] == {**summary["counts"], "readings": 2, "predictive": 0}
        assert summary["latest"]["reading_id"] == "r4"
        assert summary["latest"]["shadow"] is False
        items = app.test_client().get(f"/api/log?machine={plant.machine_id}&limit=10").json["items"]
        assert sorted(item["reading_id"] for item in items) == ["r1", "r4"]
        assert app.test_client().get(f"/api/alerts?machine={plant.machine_id}").json["alerts"] == []
    finally:
        runtime_of(app).stop()
