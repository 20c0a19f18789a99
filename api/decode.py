"""Decode MQTT payloads (predictions, alerts, statuses) into database rows (pure functions).

The contract's parsers (contract.validation) check every payload against the contract's
types and vocabularies and read version-1 predictions as version 2 (contract.compat); this
module adds only what the store needs on top: text that fits its columns, timestamps it can
keep as epoch milliseconds, field names it can index. Anything malformed raises
:class:`MalformedError` naming the field; the ingest counts and logs it and goes on, so one
bad publisher can never stop the history.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from api.db import shadow_predictions
from api.rows import LAST_MS, ts_to_ms
from contract import MACHINE_ID_PATTERN
from contract.payloads import READING_ID_PATTERN, Prediction
from contract.profiles import FIELD_NAME_PATTERN
from contract.validation import InvalidPayload, adapter, parse_alert, parse_prediction, parse_status

__all__ = ["MAX_MESSAGE_BYTES", "MalformedError", "alert_row", "prediction_row", "shadow_row", "status_of"]

MAX_MESSAGE_BYTES = 64 * 1024  # the broker's own message_size_limit
_FIELD_NAME = re.compile(FIELD_NAME_PATTERN)
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


class MalformedError(ValueError):
    """A payload the API cannot store; `field` names the culprit when there is one."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


def prediction_row(payload: bytes, machine_id: str) -> dict[str, Any]:
    """A Prediction payload (either schema version) from `machine_id`'s topic as a `predictions` row.

    The row also carries the parsed ``values`` (not a column) for the rollup and the live state.
    """
    prediction = _prediction(payload)
    _same_machine({"machine_id": prediction.machine_id}, machine_id)
    if not READING_ID_PATTERN.fullmatch(prediction.reading_id):
        raise MalformedError(f"reading_id must match {READING_ID_PATTERN.pattern}", "reading_id")
    for name in prediction.values:
        if not _FIELD_NAME.fullmatch(name):
            raise MalformedError(f"values: {name[:70]!r} is not a field name ({FIELD_NAME_PATTERN})", "values")
    explanation = prediction.explanation
    _timestamp(prediction.scored_at, "scored_at")  # must parse, stored as sent
    return {
        "machine_id": machine_id,
        "reading_id": prediction.reading_id,
        "ts_ms": _timestamp(prediction.ts, "ts"),
        "scored_at": _fits(prediction.scored_at, "scored_at", 40),
        "status": prediction.status,
        "failure_probability": prediction.failure_probability,
        "predicted_mode": _fits(prediction.predicted_mode, "predicted_mode", 64),
        "model_version": _fits(prediction.model_version, "model_version", 64),
        "threshold": prediction.threshold,
        "model_kind": prediction.model_kind,
        "rul": prediction.rul,
        "rul_low": prediction.rul_low,
        "rul_high": prediction.rul_high,
        "rul_unit": _fits(prediction.rul_unit, "rul_unit", 32),
        "rul_horizon": prediction.rul_horizon,
        "anomaly_score": prediction.anomaly_score,
        "anomaly_threshold": prediction.anomaly_threshold,
        "profile": _fits(prediction.profile, "profile", 64),
        "values_json": _ENCODER.encode(prediction.values),
        "values": prediction.values,
        "failure": prediction.failure,
        "failure_description": _fits(prediction.failure_description, "failure_description", 256),
        "explanation": None if explanation is None else _ENCODER.encode(explanation),
        "schema_version": _small(prediction.schema_version),
        "shadow": prediction.shadow,  # not a column of `predictions`: the ingest routes by it
    }


_SHADOW_COLUMNS = tuple(column.name for column in shadow_predictions.columns)


def shadow_row(payload: bytes, machine_id: str) -> dict[str, Any]:
    """A challenger's Prediction (``shadow`` true, its model named) as a `shadow_predictions` row."""
    row = prediction_row(payload, machine_id)
    if not row["shadow"]:
        raise MalformedError("a prediction on a shadow topic must say shadow: true", "shadow")
    if row["model_version"] is None:
        raise MalformedError("a shadow prediction must name its model_version", "model_version")
    return {name: row[name] for name in _SHADOW_COLUMNS}


def _prediction(payload: bytes) -> Prediction:
    """The contract's Prediction: a version-2 payload validated straight from its bytes (one pass,
    in pydantic-core), anything else through contract.validation.parse_prediction (which reads
    version 1 and names what is wrong)."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MalformedError(f"payload of {len(payload)} bytes is over {MAX_MESSAGE_BYTES}")
    try:
        return adapter(Prediction).validate_json(payload)
    except (ValidationError, ValueError):
        pass
    try:
        return parse_prediction(_object(payload))
    except InvalidPayload as exc:
        raise MalformedError(exc.detail, exc.field) from None


def alert_row(payload: bytes, machine_id: str) -> dict[str, Any]:
    """An Alert payload from `machine_id`'s topic as an `alerts` row."""
    data = _object(payload)
    _same_machine(data, machine_id)
    try:
        alert = parse_alert(data)
    except InvalidPayload as exc:
        raise MalformedError(exc.detail, exc.field) from None
    return {
        "alert_id": _fits(alert.alert_id, "alert_id", 256),
        "machine_id": machine_id,
        "profile": _fits(alert.profile, "profile", 64),
        "kind": alert.kind,
        "severity": alert.severity,
        "state": alert.state,
        "opened_at_ms": _timestamp(alert.opened_at, "opened_at"),
        "reading_id": _fits(alert.reading_id, "reading_id", 128),
        "failure_probability": alert.failure_probability,
        "predicted_mode": _fits(alert.predicted_mode, "predicted_mode", 64),
        "message": _fits(alert.message, "message", 2000),
        "rul": alert.rul,
        "rul_unit": _fits(alert.rul_unit, "rul_unit", 32),
        "anomaly_score": alert.anomaly_score,
        "anomaly_threshold": alert.anomaly_threshold,
        "cleared_at_ms": None if alert.cleared_at is None else _timestamp(alert.cleared_at, "cleared_at"),
        "schema_version": _small(alert.schema_version),
    }


def status_of(payload: bytes) -> tuple[str, int]:
    """A Status payload as (state, ts_ms)."""
    try:
        status = parse_status(_object(payload))
    except InvalidPayload as exc:
        raise MalformedError(exc.detail, exc.field) from None
    return status.state, _timestamp(status.ts, "ts")


# ----------------------------------------------------------------- what the store adds


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


def _fits(value: str | None, name: str, max_len: int) -> Any:
    """Text that fits its column: None stays None, "" and over-long text are refused."""
    if value is not None and not 0 < len(value) <= max_len:
        raise MalformedError(f"{name} must be a string of 1 to {max_len} characters", name)
    return value


def _small(value: int) -> int:
    if not 0 <= value < 2**31:
        raise MalformedError("schema_version must be a small non-negative integer", "schema_version")
    return value


def _timestamp(value: str, name: str) -> int:
    try:
        ms = ts_to_ms(value)
    except (ValueError, OverflowError):
        raise MalformedError(f"{name} must be an RFC 3339 timestamp with offset", name) from None
    if not 0 <= ms <= LAST_MS:
        raise MalformedError(f"{name} must be between 1970 and 9999", name)
    return ms
