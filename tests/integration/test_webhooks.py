"""Webhooks end to end: alerts on a real Mosquitto, the service, and local receivers (real sockets).

One receiver refuses connections at first, then drops one, lets one time out and answers 500
before it accepts; another accepts at once. Each gets each event once, in order, signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from broker.local import LocalBroker
from contract import Alert
from tests.integration.bot_harness import AlertPublisher, cleared, make_alert
from tests.support.stack import REPO_ROOT
from tests.support.webhook_receiver import Received, WebhookReceiver
from webhooks.config import Retry, WebhooksConfig
from webhooks.endpoints import load_endpoints
from webhooks.events import alert_event, secret_key
from webhooks.service import WebhookService

SECRET = "whsec_" + base64.b64encode(b"forewarn-test-signing-key-32byte").decode()
STEADY_SECRET = "a plain secret of some length"
TIMEOUT_S = 1.0


@pytest.fixture
def publisher(broker: LocalBroker) -> Iterator[AlertPublisher]:
    worker = AlertPublisher(broker)
    yield worker
    worker.close()


def _endpoints_file(folder: Path, flaky: WebhookReceiver, steady: WebhookReceiver) -> Path:
    (folder / "steady.secret").write_text(STEADY_SECRET + "\n")
    document = {
        "endpoints": [
            {"name": "flaky", "url": flaky.url, "secret": SECRET, "timeout_s": TIMEOUT_S},
            {"name": "steady", "url": steady.url, "secret_file": str(folder / "steady.secret")},
            {"name": "openings-only", "url": steady.url + "?only=open", "secret": SECRET, "events": ["alert.opened"]},
        ]
    }
    path = folder / "webhooks.json"
    path.write_text(json.dumps(document))
    return path


def _config(broker: LocalBroker, state_dir: Path, username: str) -> WebhooksConfig:
    return WebhooksConfig(
        endpoints_file=state_dir / "unused.json",
        state_dir=state_dir,
        mqtt=broker.settings(username, broker.add_user(username, "viewer"), session_expiry_s=3600, receive_maximum=100),
        topics=broker.topics,
        retry=Retry(base_s=0.05, max_s=0.4, give_up_s=3600),
    )


def _started(service: WebhookService, broker: LocalBroker, username: str) -> WebhookService:
    """Start and wait until its session is subscribed (its status says online)."""
    from tests.support.stack import wait_online

    service.start()
    wait_online(broker, username)
    return service


def _verified(received: Received, secret: str) -> dict[str, object]:
    """Check the signature as a receiver would, with nothing but hmac; return the event."""
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    headers = received.headers
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert abs(int(headers["webhook-timestamp"]) - received.at) < 5  # signed when sent, not when queued
    event: dict[str, object] = json.loads(received.body)
    assert event["id"] == headers["webhook-id"]
    assert event["type"] == headers["x-forewarn-event"]
    return event


def test_each_endpoint_gets_each_event_once_in_order_through_failures(
    broker: LocalBroker, publisher: AlertPublisher, machine_id: str, tmp_path: Path
) -> None:
    flaky = WebhookReceiver("drop", "hang", "500")  # and before start(): connections refused
    steady = WebhookReceiver().start()
    endpoints = load_endpoints(_endpoints_file(tmp_path, flaky, steady))
    username = f"webhooks-{uuid.uuid4().hex[:8]}"
    service = _started(WebhookService(_config(broker, tmp_path / "state", username), endpoints), broker, username)
    alert = make_alert(machine_id)
    try:
        publisher.publish(alert)
        steady.wait_accepted(2)  # the opening, to `steady` and `openings-only`
        time.sleep(0.5)  # the flaky endpoint's first attempts meet a closed port
        flaky.start()
        publisher.publish(alert)  # redelivered, as after a worker restart: nothing new
        publisher.publish(cleared(alert))
        accepted = flaky.wait_accepted(2, timeout=30)
        steady.wait_accepted(3)
        time.sleep(1.0)  # any duplicate would have arrived by now
        outcome, attempts = service.outbox.outcomes(alert_event(alert).id)["flaky"]
    finally:
        service.stop()
        flaky.stop()
        steady.stop()
    events = [_verified(r, SECRET) for r in accepted]
    assert [e["type"] for e in events] == ["alert.opened", "alert.cleared"]
    data = events[0]["data"]
    assert isinstance(data, dict)
    assert Alert.from_dict(data["alert"]) == alert
    assert [r.answered for r in flaky.requests] == ["drop", "hang", "500", "200", "200"]
    assert outcome == "delivered"
    assert attempts >= 5  # refused (port closed) at least once, dropped, timed out, 500, accepted
    assert len(steady.requests) == 3  # nothing failed there, nothing came twice
    by_endpoint = {
        "steady": [_verified(r, STEADY_SECRET)["type"] for r in steady.accepted() if _signed_with(r, STEADY_SECRET)],
        "openings-only": [_verified(r, SECRET)["type"] for r in steady.accepted() if _signed_with(r, SECRET)],
    }
    assert by_endpoint == {"steady": ["alert.opened", "alert.cleared"], "openings-only": ["alert.opened"]}


def _signed_with(received: Received, secret: str) -> bool:
    key = secret_key(secret)
    signed = f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode() + received.body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, received.headers["webhook-signature"])


def test_deliveries_pending_at_a_stop_go_out_after_a_restart_and_done_ones_never_again(
    broker: LocalBroker, publisher: AlertPublisher, machine_id: str, tmp_path: Path
) -> None:
    receiver = WebhookReceiver()  # down: nothing can be delivered yet
    steady = WebhookReceiver().start()
    endpoints = load_endpoints(_endpoints_file(tmp_path, receiver, steady))
    username = f"webhooks-{uuid.uuid4().hex[:8]}"
    config = _config(broker, tmp_path / "state", username)
    first, second = make_alert(f"{machine_id}-a"), make_alert(f"{machine_id}-b")
    service = _started(WebhookService(config, endpoints), broker, username)
    try:
        publisher.publish(first)
        steady.wait_accepted(2)
    finally:
        service.stop()
    publisher.publish(second)  # while the service is down: it waits at the broker
    receiver.start()
    service = WebhookService(config, endpoints)
    service.start()
    try:
        accepted = receiver.wait_accepted(2, timeout=30)
        steady.wait_accepted(4)
        time.sleep(1.0)
        outcomes = service.outbox.outcomes(alert_event(first).id)
    finally:
        service.stop()
        receiver.stop()
        steady.stop()
    opened = [json.loads(r.body)["data"]["alert"]["alert_id"] for r in accepted]
    assert opened == [first.alert_id, second.alert_id]
    assert len(steady.accepted()) == 4  # two endpoints on it, two events each, none twice
    assert outcomes["flaky"][0] == "delivered"
    assert outcomes["flaky"][1] >= 2  # it failed before the restart


def test_a_url_that_is_not_http_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.json"
    path.write_text(json.dumps({"endpoints": [{"name": "cmms", "url": "ftp://cmms.example/in", "secret": SECRET}]}))
    done = subprocess.run(
        [sys.executable, "-m", "webhooks"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "FOREWARN_WEBHOOKS_FILE": str(path), "FOREWARN_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {path}: endpoints[0].url: 'ftp://cmms.example/in' is not an http:// or https:// URL"
    ]
    assert "Traceback" not in done.stderr + done.stdout


def test_without_an_endpoints_file_the_service_says_how_to_enable_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "webhooks"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "FOREWARN_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert "webhooks: off" in done.stdout


def test_the_alert_events_carry_the_alert_and_a_stable_id() -> None:
    alert = make_alert("m1")
    opened, again, closed = alert_event(alert), alert_event(replace(alert)), alert_event(cleared(alert))
    assert opened.id == again.id != closed.id
    assert (opened.type, closed.type) == ("alert.opened", "alert.cleared")
