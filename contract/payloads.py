"""Every MQTT payload Forewarn exchanges: frozen dataclasses with JSON round trips.

A reading from the outside world goes through :func:`contract.parse_reading`, which
validates it against the machine's profile and either returns a :class:`Reading` or raises
:class:`InvalidReading` with a machine-readable ``reason`` (one of :data:`REJECTION_REASONS`)
and a human ``detail``. The other payloads are checked by :mod:`contract.validation`.

The vocabularies (statuses, alert kinds, severities, states, rejection reasons) are the
``Literal`` types below and their tuples; the JSON Schemas are generated from these classes
(:mod:`contract.schemas`). Predictions are ``schema_version`` 2: the reading's values in one
``values`` object; version 1 (flat AI4I columns) is read by :mod:`contract.compat`.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self, get_args

from annotated_types import Ge, Le

__all__ = [
    "ALERT_KINDS",
    "ALERT_STATES",
    "DEFAULT_MAX_FUTURE_S",
    "MAX_PAYLOAD_BYTES",
    "MODEL_KINDS",
    "ONLINE_STATES",
    "PREDICTION_SCHEMA_VERSION",
    "PREDICTION_STATUSES",
    "REJECTION_REASONS",
    "SCHEMA_VERSION",
    "SEVERITIES",
    "Alert",
    "AlertRegister",
    "InvalidReading",
    "Prediction",
    "Reading",
    "Rejection",
    "Status",
    "format_ts",
    "parse_ts",
    "utc_now_iso",
]

SCHEMA_VERSION = 1  # alerts, rejections
PREDICTION_SCHEMA_VERSION = 2  # values in one object (1: flat AI4I columns, see contract.compat)
MAX_PAYLOAD_BYTES = 16 * 1024
READING_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

# "unscored": the machine's profile has no model yet; the reading is kept and shown.
PredictionStatus = Literal["normal", "predictive", "failure", "unscored"]
# "rul": an engine's remaining useful life fell under its profile's horizon; "anomaly": an
# anomaly detector's score crossed the threshold set from its training data.
AlertKind = Literal["predicted", "detected", "rul", "anomaly"]
# Which kind of model made a prediction (contract/profiles.py: a profile's model section).
ModelKind = Literal["classifier", "rul", "anomaly"]
Severity = Literal["warning", "critical"]
AlertState = Literal["open", "cleared"]
# Why an alert cleared: its machine stayed calm (below the clear level for enough readings),
# went offline and stayed so (the alert went stale), or an older alert of the same machine and
# kind was found open (two workers opened one at once; the older one is kept).
ClearReason = Literal["calm", "offline", "superseded"]
OnlineState = Literal["online", "offline"]
RejectionReason = Literal[
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
    "unknown_profile",
    "rate_limited",  # the worker's per-sensor quota, not the payload (inference_worker/quota.py)
]
PREDICTION_STATUSES: tuple[str, ...] = get_args(PredictionStatus)
ALERT_KINDS: tuple[str, ...] = get_args(AlertKind)
SEVERITIES: tuple[str, ...] = get_args(Severity)
ALERT_STATES: tuple[str, ...] = get_args(AlertState)
MODEL_KINDS: tuple[str, ...] = get_args(ModelKind)
ONLINE_STATES: tuple[str, ...] = get_args(OnlineState)
REJECTION_REASONS: tuple[str, ...] = get_args(RejectionReason)
# How far ahead of the receiver's clock a reading's `ts` may be: clocks drift, but a reading
# dated later than this would pin its machine's latest state and head the log until then.
DEFAULT_MAX_FUTURE_S = 300.0

Probability = Annotated[float, Ge(0.0), Le(1.0)]
Flag = Annotated[int, Ge(0), Le(1)]  # 0 or 1
Value = float | str  # a numeric field, or a category or text field


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
class Reading:
    """One reading of one machine, validated against its profile.

    On the wire it is flat JSON (the envelope plus the profile's fields); parsed, the
    fields are in `values`, and `profile` names the profile it was validated against.
    """

    reading_id: str
    ts: str
    values: dict[str, Value]
    failure: Flag | None = None
    failure_description: str | None = None
    profile: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The flat wire form a sensor publishes (no None values, no profile)."""
        flat: dict[str, Any] = {"reading_id": self.reading_id, "ts": self.ts, **self.values}
        if self.failure is not None:
            flat["failure"] = self.failure
        if self.failure_description is not None:
            flat["failure_description"] = self.failure_description
        return flat

    def to_json(self) -> bytes:
        return _ENCODER.encode(self.to_dict()).encode()


@dataclass(frozen=True, slots=True)
class Prediction(_JsonPayload):
    """The worker's verdict on one reading, carrying the reading's values (schema version 2).

    `failure_probability`, `model_version` and `threshold` are None when the machine's
    profile has no model yet (status "unscored"). `model_kind` says which kind of model
    made it; `model_version` names that model.

    - classifier: `failure_probability` against `threshold`; the rul and anomaly fields are None.
    - rul: `rul` with its interval `rul_low`..`rul_high` (the model's conformal interval), in
      `rul_unit` (the profile's unit, e.g. "cycles"); status "predictive" when `rul` is under
      `rul_horizon`. `failure_probability` is None.
    - anomaly: `anomaly_score` against `anomaly_threshold` (set from the training data's own
      distribution); status "predictive" when the score exceeds it. `failure_probability` is None.

    While a machine's windows warm up, rul and anomaly predictions are "unscored" with
    `model_kind` set. Status "failure" whenever the reading reports one.

    `shadow` marks the prediction of a profile's challenger model (issue 17): the worker
    publishes it on the machine's ``shadow`` topic beside the champion's, the API stores it
    apart, and no alert ever comes of it.
    """

    reading_id: str
    machine_id: str
    profile: str
    ts: str
    scored_at: str
    status: PredictionStatus
    failure_probability: Probability | None
    predicted_mode: str | None
    model_version: str | None
    threshold: Probability | None
    values: dict[str, Value]
    failure: Flag | None = None
    failure_description: str | None = None
    explanation: dict[str, Any] | None = None
    model_kind: ModelKind = "classifier"
    rul: float | None = None
    rul_low: float | None = None
    rul_high: float | None = None
    rul_unit: str | None = None
    rul_horizon: float | None = None
    anomaly_score: float | None = None
    anomaly_threshold: float | None = None
    shadow: bool = False  # a challenger's prediction (champion and challenger): stored, never alerts
    schema_version: int = PREDICTION_SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class Alert(_JsonPayload):
    """An alert event: one per opening and one per clearing.

    Kinds "predicted" and "detected" come from classifiers and failure flags; "rul" opens when
    an engine's remaining useful life enters its profile's horizon (`rul`, `rul_unit`), and
    "anomaly" when an anomaly score crosses its threshold (`anomaly_score`,
    `anomaly_threshold`). One open alert per machine and kind.
    """

    alert_id: str
    machine_id: str
    kind: AlertKind
    severity: Severity
    state: AlertState
    opened_at: str
    reading_id: str
    # None: a detected failure on a machine without a model, or a rul / anomaly alert
    failure_probability: Probability | None
    predicted_mode: str | None
    message: str
    cleared_at: str | None = None
    profile: str | None = None
    rul: float | None = None
    rul_unit: str | None = None
    anomaly_score: float | None = None
    anomaly_threshold: float | None = None
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

    reason: RejectionReason
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
