"""Every MQTT payload Forewarn exchanges: frozen dataclasses with JSON round trips.

A reading from the outside world goes through :func:`parse_reading`, which either
returns a :class:`Reading` or raises :class:`InvalidReading` with a machine-readable
``reason`` (one of :data:`REJECTION_REASONS`) and a human ``detail``.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal, Self, get_args

__all__ = [
    "DEFAULT_MAX_FUTURE_S",
    "MAX_PAYLOAD_BYTES",
    "PHYSICAL_BOUNDS",
    "READING_NUMBERS",
    "REJECTION_REASONS",
    "SCHEMA_VERSION",
    "Alert",
    "AlertRegister",
    "InvalidReading",
    "Prediction",
    "Reading",
    "Rejection",
    "Status",
    "format_ts",
    "parse_reading",
    "parse_ts",
    "utc_now_iso",
]

SCHEMA_VERSION = 1
MAX_PAYLOAD_BYTES = 16 * 1024
READING_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

MachineType = Literal["L", "M", "H"]
MACHINE_TYPES: tuple[str, ...] = get_args(MachineType)
PredictionStatus = Literal["normal", "predictive", "failure"]
AlertKind = Literal["predicted", "detected"]
AlertState = Literal["open", "cleared"]
# Why an alert cleared: its machine stayed calm (below the clear level for enough readings),
# went offline and stayed so (the alert went stale), or an older alert of the same machine and
# kind was found open (two workers opened one at once; the older one is kept).
ClearReason = Literal["calm", "offline", "superseded"]
OnlineState = Literal["online", "offline"]

# Inclusive bounds outside which a sensor value is physically implausible for a
# milling machine; far wider than the AI4I data so real plants fit inside.
PHYSICAL_BOUNDS: dict[str, tuple[float, float]] = {
    "air_temp_k": (200.0, 400.0),
    "process_temp_k": (200.0, 450.0),
    "rotational_speed_rpm": (0.0, 20_000.0),
    "torque_nm": (0.0, 1_000.0),
    "tool_wear_min": (0.0, 100_000.0),
}
READING_NUMBERS: tuple[str, ...] = tuple(PHYSICAL_BOUNDS)

REJECTION_REASONS = (
    "too_large",
    "not_json",
    "not_object",
    "bad_topic",
    "missing_field",
    "wrong_type",
    "not_finite",
    "out_of_bounds",
    "bad_timestamp",
    "bad_value",
    "machine_mismatch",
    "rate_limited",  # the worker's per-sensor quota, not the payload (inference_worker/quota.py)
)
# How far ahead of the receiver's clock a reading's `ts` may be: clocks drift, but a reading
# dated later than this would pin its machine's latest state and head the log until then.
DEFAULT_MAX_FUTURE_S = 300.0


class InvalidReading(ValueError):
    """A reading that must be rejected; `reason` is machine-readable."""

    def __init__(self, reason: str, detail: str, field_name: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.field = field_name


def utc_now_iso() -> str:
    """Now as RFC 3339 UTC with millisecond precision."""
    return format_ts(datetime.now(UTC))


def format_ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_ts(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries its offset; naive times are refused."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("timestamp has no UTC offset")
    return moment.astimezone(UTC)


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_Getter = tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]
_GETTERS: dict[type, _Getter] = {}


def _field_getter(cls: type) -> _Getter:
    """A payload class's field names and one C-level getter of all their values."""
    found = _GETTERS.get(cls)
    if found is None:
        names = tuple(f.name for f in fields(cls))
        getter = operator.attrgetter(*names)
        found = _GETTERS[cls] = (names, getter if len(names) > 1 else lambda obj: (getter(obj),))
    return found


class _JsonPayload:
    """JSON round trip shared by every payload dataclass."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload,no-any-return]

    def to_json(self) -> bytes:
        # A shallow dict gives the same JSON: the encoder walks nested values itself, and
        # asdict's deep copy cost 5x the encoding (the worker encodes every prediction).
        names, values = _field_getter(type(self))
        return _ENCODER.encode(dict(zip(names, values(self), strict=True))).encode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, raw: bytes | str) -> Self:
        return cls.from_dict(json.loads(raw))


@dataclass(frozen=True, slots=True)
class Reading(_JsonPayload):
    """One sensor reading of one machine."""

    reading_id: str
    ts: str
    type: MachineType
    air_temp_k: float
    process_temp_k: float
    rotational_speed_rpm: float
    torque_nm: float
    tool_wear_min: float
    product_id: str | None = None
    failure: int | None = None
    failure_description: str | None = None


@dataclass(frozen=True, slots=True)
class Prediction(_JsonPayload):
    """The worker's verdict on one reading, carrying the reading's values."""

    reading_id: str
    machine_id: str
    ts: str
    scored_at: str
    status: PredictionStatus
    failure_probability: float
    predicted_mode: str | None
    model_version: str
    threshold: float
    type: MachineType
    air_temp_k: float
    process_temp_k: float
    rotational_speed_rpm: float
    torque_nm: float
    tool_wear_min: float
    product_id: str | None = None
    failure: int | None = None
    failure_description: str | None = None
    explanation: dict[str, Any] | None = None
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class Alert(_JsonPayload):
    """An alert event: one per opening and one per clearing."""

    alert_id: str
    machine_id: str
    kind: AlertKind
    severity: Literal["warning", "critical"]
    state: AlertState
    opened_at: str
    reading_id: str
    failure_probability: float
    predicted_mode: str | None
    message: str
    cleared_at: str | None = None
    # An early warning (a `predicted` alert opened by the wear forecast while the model still
    # says normal): {"mode", "remaining", "unit", "text"} as in the prediction's explanation.
    early_warning: dict[str, Any] | None = None
    cleared_reason: ClearReason | None = None
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class AlertRegister(_JsonPayload):
    """The retained register of one machine's alert of one kind (Topics.alert_state).

    `alert` is the latest event of that machine and kind (open or cleared), so whoever
    subscribes learns which alerts are open. `offline_since`: when a worker first saw the
    machine offline while the alert was open (the clock of the stale rule), else None.
    """

    alert: dict[str, Any]
    offline_since: str | None = None
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def of(cls, alert: Alert, offline_since: str | None = None) -> AlertRegister:
        return cls(alert=alert.to_dict(), offline_since=offline_since)

    def event(self) -> Alert:
        """The alert event it holds; ValueError/TypeError when it is not one."""
        return Alert.from_dict(self.alert)


@dataclass(frozen=True, slots=True)
class Rejection(_JsonPayload):
    """Why a reading was refused, published on the machine's `rejected` topic."""

    reason: str
    detail: str
    topic: str
    received_at: str
    field: str | None = None
    reading_id: str | None = None
    payload_excerpt: str = ""
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class Status(_JsonPayload):
    """Retained availability of a machine or a service; 'offline' is the last will."""

    state: OnlineState
    ts: str = field(default_factory=utc_now_iso)


# ---------------------------------------------------------------- reading parser


def parse_reading(
    raw: bytes,
    machine_id: str | None = None,
    *,
    now: datetime | None = None,
    max_future_s: float = DEFAULT_MAX_FUTURE_S,
) -> Reading:
    """Decode and validate a reading payload, raising InvalidReading with a reason.

    With `now` (the receiver's clock, aware), a `ts` more than `max_future_s` after it is
    refused as ``bad_timestamp``; without it the time is not compared with any clock.
    """
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise InvalidReading("too_large", f"{len(raw)} bytes > {MAX_PAYLOAD_BYTES}")
    data = _decode_object(raw)
    if machine_id is not None and "machine_id" in data and data["machine_id"] != machine_id:
        raise InvalidReading("machine_mismatch", "payload machine_id differs from topic", "machine_id")
    numbers = {name: _number(data, name) for name in READING_NUMBERS}
    return Reading(
        reading_id=_reading_id(data),
        ts=_timestamp(data, now, max_future_s),
        type=_machine_type(data),
        product_id=_optional_text(data, "product_id", 64),
        failure=_optional_flag(data, "failure"),
        failure_description=_optional_text(data, "failure_description", 256),
        **numbers,
    )


def _decode_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except InvalidReading:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, huge ints
        raise InvalidReading("not_json", f"payload is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidReading("not_object", f"payload is a JSON {type(data).__name__}, not an object")
    return data


def _refuse_constant(name: str) -> float:
    raise InvalidReading("not_finite", f"{name} is not a number", None)


def _require(data: dict[str, Any], name: str) -> Any:
    if name not in data or data[name] is None:
        raise InvalidReading("missing_field", f"{name} is required", name)
    return data[name]


def _number(data: dict[str, Any], name: str) -> float:
    value = _require(data, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidReading("wrong_type", f"{name} must be a number", name)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InvalidReading("not_finite", f"{name} is not finite", name)
    low, high = PHYSICAL_BOUNDS[name]
    if not low <= number <= high:
        raise InvalidReading("out_of_bounds", f"{name}={number} outside [{low}, {high}]", name)
    return number


def _text(data: dict[str, Any], name: str) -> str:
    value = _require(data, name)
    if not isinstance(value, str):
        raise InvalidReading("wrong_type", f"{name} must be a string", name)
    return value


def _reading_id(data: dict[str, Any]) -> str:
    value = _text(data, "reading_id")
    if not READING_ID_PATTERN.fullmatch(value):
        raise InvalidReading("bad_value", f"reading_id must match {READING_ID_PATTERN.pattern}", "reading_id")
    return value


def _timestamp(data: dict[str, Any], now: datetime | None, max_future_s: float) -> str:
    value = _text(data, "ts")
    try:
        moment = parse_ts(value)
    except (ValueError, OverflowError) as exc:
        raise InvalidReading("bad_timestamp", f"ts {value[:40]!r}: {exc}", "ts") from None
    if moment.year < 1970:  # a clock that was never set; history is kept in epoch milliseconds
        raise InvalidReading("bad_timestamp", f"ts {value[:40]!r} is before 1970", "ts")
    if now is not None and (moment - now).total_seconds() > max_future_s:
        ahead = (moment - now).total_seconds()
        raise InvalidReading(
            "bad_timestamp", f"ts {value[:40]!r} is {ahead:.0f} s ahead of the clock (at most {max_future_s:g} s)", "ts"
        )
    return format_ts(moment)


def _machine_type(data: dict[str, Any]) -> MachineType:
    value = _text(data, "type")
    if value not in MACHINE_TYPES:
        raise InvalidReading("bad_value", f"type must be one of {', '.join(MACHINE_TYPES)}", "type")
    return value  # type: ignore[return-value]


def _optional_text(data: dict[str, Any], name: str, max_len: int) -> str | None:
    value = data.get(name)
    if value is None or value == "":  # an empty CSV cell means "not given"
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise InvalidReading("wrong_type", f"{name} must be a string of at most {max_len}", name)
    return value


def _optional_flag(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or value not in (0, 1):
        raise InvalidReading("bad_value", f"{name} must be 0 or 1", name)
    return int(value)
