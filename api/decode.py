"""Decode MQTT payloads (predictions, alerts, statuses) into database rows (pure functions).

Anything malformed raises :class:`MalformedError` naming the field; the ingest counts and logs
it and goes on, so one bad publisher can never stop the history.
"""

from __future__ import annotations

import json
import math
from typing import Any

from api.rows import LAST_MS, STATUS_RANK, ts_to_ms
from contract import MACHINE_ID_PATTERN
from contract.compat import V1_READING_NUMBERS as READING_NUMBERS
from contract.compat import flat_prediction
from contract.payloads import READING_ID_PATTERN

__all__ = ["MAX_MESSAGE_BYTES", "MalformedError", "alert_row", "prediction_row", "status_of"]

MAX_MESSAGE_BYTES = 64 * 1024  # the broker's own message_size_limit
_MACHINE_TYPES = ("L", "M", "H")
_ALERT_KINDS = ("predicted", "detected")
_SEVERITIES = ("warning", "critical")
_ALERT_STATES = ("open", "cleared")
_ONLINE_STATES = ("online", "offline")


class MalformedError(ValueError):
    """A payload the API cannot store; `field` names the culprit when there is one."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


def prediction_row(payload: bytes, machine_id: str) -> dict[str, Any]:
    """A Prediction payload from `machine_id`'s topic as a `predictions` row."""
    data = flat_prediction(_object(payload))  # the store keeps the version-1 columns until it moves to profiles
    _same_machine(data, machine_id)
    explanation = data.get("explanation")
    if explanation is not None and not isinstance(explanation, dict):
        raise MalformedError("explanation must be an object or null", "explanation")
    row: dict[str, Any] = {
        "machine_id": machine_id,
        "reading_id": _matching(data, "reading_id", READING_ID_PATTERN.pattern, 128),
        "ts_ms": _timestamp(data, "ts"),
        "scored_at": _text(data, "scored_at", 40),
        "status": _choice(data, "status", tuple(STATUS_RANK)),
        "failure_probability": _probability(data, "failure_probability"),
        "predicted_mode": _text(data, "predicted_mode", 64, optional=True),
        "model_version": _text(data, "model_version", 64),
        "threshold": _probability(data, "threshold"),
        "type": _choice(data, "type", _MACHINE_TYPES),
        "product_id": _text(data, "product_id", 64, optional=True),
        "failure": _flag(data, "failure"),
        "failure_description": _text(data, "failure_description", 256, optional=True),
        "explanation": None if explanation is None else json.dumps(explanation, separators=(",", ":")),
        "schema_version": _integer(data, "schema_version", default=1),
    }
    _timestamp(data, "scored_at")  # must parse, stored as sent
    for name in READING_NUMBERS:
        row[name] = _number(data, name)
    return row


def alert_row(payload: bytes, machine_id: str) -> dict[str, Any]:
    """An Alert payload from `machine_id`'s topic as an `alerts` row."""
    data = _object(payload)
    _same_machine(data, machine_id)
    state = _choice(data, "state", _ALERT_STATES)
    cleared = data.get("cleared_at")
    return {
        "alert_id": _text(data, "alert_id", 256),
        "machine_id": machine_id,
        "kind": _choice(data, "kind", _ALERT_KINDS),
        "severity": _choice(data, "severity", _SEVERITIES),
        "state": state,
        "opened_at_ms": _timestamp(data, "opened_at"),
        "reading_id": _text(data, "reading_id", 128),
        "failure_probability": _probability(data, "failure_probability"),
        "predicted_mode": _text(data, "predicted_mode", 64, optional=True),
        "message": _text(data, "message", 2000),
        "cleared_at_ms": _timestamp(data, "cleared_at") if cleared is not None else None,
        "schema_version": _integer(data, "schema_version", default=1),
    }


def status_of(payload: bytes) -> tuple[str, int]:
    """A Status payload as (state, ts_ms)."""
    data = _object(payload)
    return _choice(data, "state", _ONLINE_STATES), _timestamp(data, "ts")


# ----------------------------------------------------------------- field checks


def _object(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MalformedError(f"payload of {len(payload)} bytes is over {MAX_MESSAGE_BYTES}")
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        raise MalformedError("payload is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedError("payload is not a JSON object")
    return data


def _same_machine(data: dict[str, Any], machine_id: str) -> None:
    claimed = data.get("machine_id", machine_id)
    if claimed != machine_id or not MACHINE_ID_PATTERN.fullmatch(machine_id):
        raise MalformedError("machine_id differs from the topic's machine", "machine_id")


def _present(data: dict[str, Any], name: str) -> Any:
    value = data.get(name)
    if value is None:
        raise MalformedError(f"{name} is required", name)
    return value


def _text(data: dict[str, Any], name: str, max_len: int, optional: bool = False) -> Any:
    if optional and data.get(name) is None:
        return None
    value = _present(data, name)
    if not isinstance(value, str) or not 0 < len(value) <= max_len:
        raise MalformedError(f"{name} must be a string of 1 to {max_len} characters", name)
    return value


def _matching(data: dict[str, Any], name: str, pattern: str, max_len: int) -> str:
    value: str = _text(data, name, max_len)
    if not READING_ID_PATTERN.fullmatch(value):
        raise MalformedError(f"{name} must match {pattern}", name)
    return value


def _choice(data: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = _present(data, name)
    if value not in allowed:
        raise MalformedError(f"{name} must be one of {', '.join(allowed)}", name)
    return str(value)


def _number(data: dict[str, Any], name: str) -> float:
    value = _present(data, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedError(f"{name} must be a number", name)
    try:
        number = float(value)
    except OverflowError:
        raise MalformedError(f"{name} is not finite", name) from None
    if not math.isfinite(number):
        raise MalformedError(f"{name} is not finite", name)
    return number


def _probability(data: dict[str, Any], name: str) -> float:
    number = _number(data, name)
    if not 0.0 <= number <= 1.0:
        raise MalformedError(f"{name} must be within [0, 1]", name)
    return number


def _integer(data: dict[str, Any], name: str, default: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise MalformedError(f"{name} must be a small non-negative integer", name)
    return value


def _flag(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or value not in (0, 1):
        raise MalformedError(f"{name} must be 0, 1 or null", name)
    return int(value)


def _timestamp(data: dict[str, Any], name: str) -> int:
    value = _present(data, name)
    if not isinstance(value, str):
        raise MalformedError(f"{name} must be an RFC 3339 timestamp", name)
    try:
        ms = ts_to_ms(value)
    except (ValueError, OverflowError):
        raise MalformedError(f"{name} must be an RFC 3339 timestamp with offset", name) from None
    if not 0 <= ms <= LAST_MS:
        raise MalformedError(f"{name} must be between 1970 and 9999", name)
    return ms
