"""The webhook event envelope and its signature (pure).

Every event has the same envelope, so new kinds plug in without changing receivers' parsing:

    {"id": "evt_...", "type": "alert.opened", "occurred_at": "...", "schema_version": 1,
     "data": {"alert": {...the contract's Alert...}}}

Types: `alert.opened`, `alert.cleared` (data: {"alert": {...}}), `verdict.given`
(data: {"verdict": {...as GET /api/verdicts...}}) and `maintenance.logged` (data:
{"maintenance": {...as GET /api/maintenance...}}). `id` is derived from what the event is
(the alert id and its state; the verdict's or the log entry's id), so the same event
redelivered by the broker, or published twice by the workers, gets the same id: a receiver
can use it to drop duplicates (it is also the `webhook-id` header).

Signatures follow the Standard Webhooks scheme (standardwebhooks.com), so receivers can use
any of its libraries or a few lines of their own:

    webhook-id:        the event id
    webhook-timestamp: Unix seconds when the request was signed
    webhook-signature: v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>

The key is the endpoint's secret: base64 after the `whsec_` prefix (the scheme's form), or
the secret's own UTF-8 bytes otherwise. The timestamp is signed with the body, so a captured
request cannot be replayed later: receivers refuse timestamps older than a few minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from contract import Alert

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "Event",
    "EventType",
    "alert_event",
    "maintenance_event",
    "secret_key",
    "sign",
    "signature_headers",
    "verdict_event",
    "verify",
]

EventType = Literal["alert.opened", "alert.cleared", "verdict.given", "maintenance.logged"]
EVENT_TYPES: tuple[str, ...] = ("alert.opened", "alert.cleared", "verdict.given", "maintenance.logged")
SCHEMA_VERSION = 1
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


@dataclass(frozen=True, slots=True)
class Event:
    """One event as it is sent: its id, its type and the exact body bytes that are signed."""

    id: str
    type: str
    body: bytes


def event_id(event_type: str, *key: str) -> str:
    digest = hashlib.sha256("\x00".join((event_type, *key)).encode()).hexdigest()[:32]
    return f"evt_{digest}"


def envelope(event_id_: str, event_type: str, occurred_at: str | None, data: Mapping[str, Any]) -> Event:
    document = {
        "id": event_id_,
        "type": event_type,
        "occurred_at": occurred_at,
        "schema_version": SCHEMA_VERSION,
        "data": dict(data),
    }
    return Event(event_id_, event_type, json.dumps(document, separators=(",", ":"), sort_keys=True).encode())


def alert_event(alert: Alert) -> Event:
    """`alert.opened` or `alert.cleared`, carrying the alert as the contract defines it."""
    event_type = "alert.opened" if alert.state == "open" else "alert.cleared"
    occurred = alert.opened_at if alert.state == "open" else alert.cleared_at
    return envelope(event_id(event_type, alert.alert_id), event_type, occurred, {"alert": alert.to_dict()})


def verdict_event(verdict: Mapping[str, Any]) -> Event:
    """`verdict.given`: a verdict as the API stores it (GET /api/verdicts), keyed by its id."""
    return envelope(
        event_id("verdict.given", str(verdict["id"])), "verdict.given", verdict.get("at"), {"verdict": verdict}
    )


def maintenance_event(entry: Mapping[str, Any]) -> Event:
    """`maintenance.logged`: an entry of the maintenance log (GET /api/maintenance), keyed by its id."""
    event_type = "maintenance.logged"
    return envelope(
        event_id(event_type, str(entry["id"])), event_type, entry.get("recorded_at"), {"maintenance": entry}
    )


def secret_key(secret: str) -> bytes:
    """The HMAC key of an endpoint's secret (`whsec_` + base64, or any other text as is)."""
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    return secret.encode()


def sign(key: bytes, event_id_: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of id.timestamp.body."""
    signed = f"{event_id_}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_headers(key: bytes, event: Event, timestamp: int) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, event.id, timestamp, event.body),
        "x-forewarn-event": event.type,
    }


def verify(key: bytes, headers: Mapping[str, str], body: bytes, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver does: a fresh timestamp and one matching `v1` signature (constant time)."""
    try:
        timestamp = int(headers["webhook-timestamp"])
        expected = sign(key, headers["webhook-id"], timestamp, body)
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    offered = headers.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)
