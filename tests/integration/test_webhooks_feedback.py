"""Webhooks for verdicts and maintenance (read from the real API), and alert events a snooze
silences: the real API (SQLite, waitress), a real Mosquitto, the service and a local receiver."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from flask import Flask

from api import create_app, runtime_of
from broker.local import LocalBroker
from tests.integration.bot_harness import AlertPublisher, make_alert
from tests.integration.test_webhooks import _config, _started, _verified
from tests.support.api import AUTH, Served, alert, feed, test_config
from tests.support.webhook_receiver import WebhookReceiver
from webhooks.endpoints import load_endpoints
from webhooks.service import WebhookService

SECRET = "a plain secret of some length"


@pytest.fixture
def api(broker: LocalBroker, tmp_path: Path) -> Iterator[tuple[Flask, Served]]:
    """The API, storing the alerts it hears on the broker (its own viewer account)."""
    username = f"api-{uuid.uuid4().hex[:8]}"
    mqtt = broker.settings(username, broker.add_user(username, "viewer"), session_expiry_s=600)
    app = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}", mqtt=mqtt, topics=broker.topics))
    served = Served(app)
    yield app, served
    served.close()
    runtime_of(app).stop()


def test_verdicts_and_maintenance_become_webhook_events_and_snoozed_alerts_are_not_sent(
    broker: LocalBroker, api: tuple[Flask, Served], machine_id: str, tmp_path: Path
) -> None:
    app, served = api
    before = f"{machine_id}-before"
    feed(app, alerts=[alert(machine_id, before)])
    httpx.post(
        f"{served.base}/api/alerts/{before}/verdict", json={"verdict": "unsure"}, headers=AUTH
    ).raise_for_status()
    receiver = WebhookReceiver().start()
    endpoints_file = tmp_path / "webhooks.json"
    endpoints_file.write_text(json.dumps({"endpoints": [{"name": "cmms", "url": receiver.url, "secret": SECRET}]}))
    username = f"webhooks-{uuid.uuid4().hex[:8]}"
    config = replace(_config(broker, tmp_path / "state", username), api_url=served.base, poll_s=0.1)
    service = _started(WebhookService(config, load_endpoints(endpoints_file)), broker, username)
    snoozed = f"{machine_id}-snoozed"
    publisher = AlertPublisher(broker)
    try:
        time.sleep(0.5)  # the first poll places the cursors after what the API already had
        httpx.post(
            f"{served.base}/api/alerts/{before}/verdict",
            json={"verdict": "false_alarm", "by": "Ana", "note": "sensor cable"},
            headers=AUTH,
        ).raise_for_status()
        httpx.post(
            f"{served.base}/api/maintenance",
            json={"machine_id": machine_id, "action": "repaired", "by": "Bo"},
            headers=AUTH,
        ).raise_for_status()
        httpx.post(
            f"{served.base}/api/snoozes", json={"machine_id": snoozed, "minutes": 10}, headers=AUTH
        ).raise_for_status()
        publisher.publish(make_alert(snoozed))
        witness = make_alert(machine_id)
        publisher.publish(witness)
        received = receiver.wait_accepted(3)
        time.sleep(1.0)  # anything more (the snoozed alert, the verdict given before) would be here
    finally:
        publisher.close()
        service.stop()
        receiver.stop()
    events = [_verified(r, SECRET) for r in receiver.accepted()]
    assert sorted(str(e["type"]) for e in events) == ["alert.opened", "maintenance.logged", "verdict.given"]
    by_type = {e["type"]: e["data"] for e in events}
    verdict = by_type["verdict.given"]["verdict"]  # type: ignore[index]
    assert (verdict["alert_id"], verdict["verdict"], verdict["by"], verdict["note"]) == (
        before,
        "false_alarm",
        "Ana",
        "sensor cable",
    )
    assert by_type["maintenance.logged"]["maintenance"]["action"] == "repaired"  # type: ignore[index]
    assert by_type["alert.opened"]["alert"]["alert_id"] == witness.alert_id  # type: ignore[index]
    assert len(received) == 3
