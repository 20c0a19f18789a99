"""Webhooks' pure parts: the envelope, the signature a receiver checks, backoff, endpoint rules."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from contract import Alert
from tests.support.payloads import example
from webhooks.config import Retry
from webhooks.endpoints import Endpoint, EndpointsFile
from webhooks.events import alert_event, secret_key, sign, signature_headers, verify
from webhooks.sender import backoff_s

KEY = b"forewarn-unit-test-key-0123456789"
NOW = 1_800_000_000


def test_the_envelope_names_its_type_and_carries_the_alert() -> None:
    alert = Alert.from_dict(example("alert"))
    event = alert_event(alert)
    document = json.loads(event.body)
    assert document["type"] == event.type == "alert.opened"
    assert document["id"] == event.id
    assert event.id.startswith("evt_")
    assert document["occurred_at"] == alert.opened_at
    assert document["schema_version"] == 1
    assert Alert.from_dict(document["data"]["alert"]) == alert


def test_a_receiver_accepts_a_fresh_signed_request_and_nothing_else() -> None:
    event = alert_event(Alert.from_dict(example("alert")))
    headers = signature_headers(KEY, event, NOW)
    assert verify(KEY, headers, event.body, now=NOW + 10)
    assert not verify(KEY, headers, event.body + b" ", now=NOW)  # the body changed
    assert not verify(b"another key", headers, event.body, now=NOW)
    assert not verify(KEY, headers, event.body, now=NOW + 301)  # replayed too late
    tampered = headers | {"webhook-timestamp": str(NOW + 100)}  # a new timestamp on an old signature
    assert not verify(KEY, tampered, event.body, now=NOW + 100)
    assert not verify(KEY, {k: v for k, v in headers.items() if k != "webhook-id"}, event.body, now=NOW)


def test_the_signature_is_standard_webhooks_v1() -> None:
    signature = sign(KEY, "evt_1", NOW, b"{}")
    assert signature.startswith("v1,")
    assert len(base64.b64decode(signature[3:])) == 32  # an HMAC-SHA256
    assert secret_key("whsec_" + base64.b64encode(KEY).decode()) == KEY
    assert secret_key("plain text secret") == b"plain text secret"


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    retry = Retry(base_s=1.0, max_s=30.0)
    assert [backoff_s(n, retry, lambda: 1.0) for n in (1, 2, 3, 4, 5, 6, 7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff_s(3, retry, lambda: 0.0) == 2.0  # never below half


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ({"name": "cmms", "url": "ftp://x/in", "secret": "s" * 20}, "is not an http:// or https:// URL"),
        ({"name": "cmms", "url": "https:///in", "secret": "s" * 20}, "is not an http:// or https:// URL"),
        ({"name": "CMMS!", "url": "https://x/in", "secret": "s" * 20}, "must match"),
        ({"name": "cmms", "url": "https://x/in"}, "exactly one of secret and secret_file"),
        ({"name": "cmms", "url": "https://x/in", "secret": "s" * 20, "events": ["alert.deleted"]}, "choose from"),
        ({"name": "cmms", "url": "https://x/in", "secret": "s" * 20, "colour": "red"}, "Extra inputs"),
    ],
)
def test_endpoint_mistakes_are_refused_with_a_reason(endpoint, message) -> None:
    with pytest.raises(ValidationError, match=message):
        EndpointsFile.model_validate({"endpoints": [endpoint]})


def test_endpoint_names_are_unique_and_events_default_to_all() -> None:
    one = {"name": "cmms", "url": "http://cmms.local/in", "secret": "s" * 20}
    with pytest.raises(ValidationError, match="unique: cmms"):
        EndpointsFile.model_validate({"endpoints": [one, one]})
    endpoint = Endpoint.model_validate(one)
    assert endpoint.wants("alert.opened")
    assert endpoint.wants("verdict.given")


def test_verdict_and_maintenance_events_are_keyed_by_their_stored_id() -> None:
    from webhooks.events import maintenance_event, verdict_event

    verdict = {"id": 7, "alert_id": "a-1", "verdict": "false_alarm", "at": "2026-12-06T21:00:00.000Z"}
    first, again = verdict_event(verdict), verdict_event(dict(verdict))
    assert first.id == again.id
    assert first.type == "verdict.given"
    assert verdict_event(verdict | {"id": 8}).id != first.id
    assert json.loads(first.body)["data"] == {"verdict": verdict}
    entry = maintenance_event({"id": 7, "machine_id": "m", "action": "repaired", "recorded_at": "2026-12-06T21:00Z"})
    assert entry.type == "maintenance.logged"
    assert entry.id != first.id  # the same row id in another table is another event
