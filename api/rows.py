"""Conversions between database rows and the API's JSON, and the log's opaque cursor.

Pure functions: the same conversion feeds the HTTP answers, the in-memory state and the
event stream, so a prediction looks identical wherever a client meets it.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

from contract import Alert, format_ts

__all__ = [
    "ALERT_VIEW_FIELDS",
    "CSV_HEAD",
    "CSV_TAIL",
    "LAST_MS",
    "MODEL_OUTPUT_FIELDS",
    "PREDICTION_FIELDS",
    "PREDICTION_SCHEMA_VERSION",
    "STATUS_RANK",
    "UNSTORED_ALERT_FIELDS",
    "Cursor",
    "alert_view",
    "decode_cursor",
    "encode_cursor",
    "epoch_ms",
    "ms_to_ts",
    "prediction_view",
    "ts_to_ms",
]

# What a remaining-useful-life model or an anomaly detector adds to a prediction (issue 16).
MODEL_OUTPUT_FIELDS: tuple[str, ...] = (
    "model_kind", "rul", "rul_low", "rul_high", "rul_unit", "rul_horizon", "anomaly_score", "anomaly_threshold",
)  # fmt: skip
PREDICTION_FIELDS: tuple[str, ...] = (
    "reading_id", "machine_id", "profile", "ts", "scored_at", "status", "failure_probability", "predicted_mode",
    "model_version", "threshold", "values", "failure", "failure_description", "explanation", *MODEL_OUTPUT_FIELDS,
    "shadow", "schema_version",
)  # fmt: skip
# Alert fields the store does not keep yet: the bot and webhooks read them from MQTT.
UNSTORED_ALERT_FIELDS = ("early_warning", "cleared_reason")
ALERT_VIEW_FIELDS: tuple[str, ...] = (
    *(f.name for f in fields(Alert) if f.name not in UNSTORED_ALERT_FIELDS),
    "acked_by",
    "acked_at",
)
# The CSV export: the prediction's fields, with `values` spread into one column per profile field.
CSV_HEAD: tuple[str, ...] = PREDICTION_FIELDS[: PREDICTION_FIELDS.index("values")]
CSV_TAIL: tuple[str, ...] = ("failure", "failure_description", *MODEL_OUTPUT_FIELDS, "schema_version")
# How bad a status is (the worst of a bucket is shown); "unscored": no model, nothing to say.
STATUS_RANK = {"unscored": -1, "normal": 0, "predictive": 1, "failure": 2}
PREDICTION_SCHEMA_VERSION = 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_COPIED = ("reading_id", "machine_id", "profile", "scored_at", "status", "failure_probability", "predicted_mode",
           "model_version", "threshold", *MODEL_OUTPUT_FIELDS)  # fmt: skip
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

Cursor = tuple[int, str, str]


def ts_to_ms(text: str) -> int:
    """RFC 3339 text (with offset) to integer epoch milliseconds; ValueError when malformed.

    Subtracting aware datetimes never leaves the datetime range, so even year 1 at +17:38 works.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("timestamp has no UTC offset")
    return epoch_ms(moment)


def epoch_ms(moment: datetime) -> int:
    """An aware datetime as epoch milliseconds (any year: aware subtraction stays in range)."""
    return (moment - _EPOCH) // _MS


def ms_to_ts(ms: int) -> str:
    """Epoch milliseconds as RFC 3339 UTC text with milliseconds, like contract.format_ts."""
    if 0 <= ms <= LAST_MS:  # the hot path (every stored row): ~2x faster than datetime
        seconds, millis = divmod(ms, 1000)
        return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}Z"
    return format_ts(_EPOCH + timedelta(milliseconds=ms))


def prediction_view(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored prediction row as the contract's Prediction payload (version 2, values nested).

    A row fresh from the ingest still carries its parsed ``values``; one read back has only
    the stored text.
    """
    view = {name: row[name] for name in _COPIED}
    values = row.get("values")
    explanation = row["explanation"]
    view.update(
        ts=ms_to_ts(row["ts_ms"]),
        values=json.loads(row["values_json"]) if values is None else values,
        failure=row["failure"],
        failure_description=row["failure_description"],
        explanation=json.loads(explanation) if explanation else None,
        shadow=bool(row.get("shadow", False)),  # a challenger's (shadow_predictions) or the champion's
        schema_version=PREDICTION_SCHEMA_VERSION,
    )
    return {name: view[name] for name in PREDICTION_FIELDS}


def alert_view(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored alert row as an AlertView: the Alert payload plus acknowledgement fields."""
    times = {
        "opened_at": ms_to_ts(row["opened_at_ms"]),
        "cleared_at": _optional_ts(row["cleared_at_ms"]),
        "acked_at": _optional_ts(row["acked_at_ms"]),
    }
    return {name: times[name] if name in times else row[name] for name in ALERT_VIEW_FIELDS}


def _optional_ts(ms: int | None) -> str | None:
    return None if ms is None else ms_to_ts(ms)


def encode_cursor(cursor: Cursor) -> str:
    """Opaque text for the log's next page: (ts_ms, machine_id, reading_id) of the last item."""
    raw = json.dumps(list(cursor), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """Inverse of encode_cursor; ValueError for anything it did not produce."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        ts_ms, machine_id, reading_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("not a cursor from this API") from None
    if not (
        isinstance(ts_ms, int)
        and -(2**63) <= ts_ms < 2**63
        and isinstance(machine_id, str)
        and len(machine_id) <= 64
        and isinstance(reading_id, str)
        and len(reading_id) <= 128
    ):
        raise ValueError("not a cursor from this API")
    return ts_ms, machine_id, reading_id
