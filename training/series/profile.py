"""What the time-series model kinds need from a machine profile, behind one small interface.

:class:`SeriesProfile` is all the RUL and anomaly code reads: the numeric fields with
their bounds, the CSV column map, the field that orders a machine's readings, the model
inputs and windows, the RUL unit, horizon and cap. :func:`series_profile` builds it from a
profile validated by the contract (``contract.profiles``: the ``model`` section with
``kind``, ``inputs``, ``order``, ``windows``, ``rul`` and ``anomaly``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contract.profiles import MODEL_KINDS, Profile, WindowDeclaration
from model.windows import ALL, Window, WindowSpec

__all__ = [
    "KINDS",
    "MACHINE_COLUMN",
    "NumericField",
    "SeriesProfile",
    "series_profile",
    "window_spec",
]

KINDS = MODEL_KINDS
MACHINE_COLUMN = "machine_id"  # the envelope key a CSV column maps to for the machine
DEFAULT_CAP = 125.0  # when a rul section gives no cap: the C-MAPSS convention


@dataclass(frozen=True)
class NumericField:
    """A sensor or counter: its name, unit and physical bounds."""

    name: str
    unit: str
    min: float
    max: float
    required: bool = True


@dataclass(frozen=True)
class SeriesProfile:
    """The profile as the RUL and anomaly kinds see it."""

    id: str
    version: int
    source: str
    fields: tuple[NumericField, ...]
    inputs: tuple[str, ...]  # current values the models read, in this order
    order: str  # the field ordering a machine's readings
    windows: WindowSpec  # the RUL model's (and the anomaly detector's, unless it has its own)
    kind: str = "rul"
    rul_unit: str = "cycles"
    horizon: float = 30.0
    rul_cap: float = DEFAULT_CAP
    normal_fraction: float = 1.0  # the start of each history an anomaly detector takes as normal
    anomaly_windows: WindowSpec | None = None
    anomaly_margin: float = 4.0  # alarm above margin x the largest normal training score
    csv_columns: Mapping[str, str] = field(default_factory=dict)  # CSV column -> field or machine_id

    def numeric(self, name: str) -> NumericField:
        for item in self.fields:
            if item.name == name:
                return item
        raise KeyError(name)

    def as_card(self) -> dict[str, Any]:
        """What a model card records about the profile it was trained for."""
        return {"id": self.id, "version": self.version}


class NotSeriesProfile(ValueError):
    """A profile that cannot train a RUL or anomaly model (no order field); one line."""


def series_profile(profile: Profile, source: str | None = None) -> SeriesProfile:
    """The RUL/anomaly view of a validated profile (NotSeriesProfile when it has no `model.order`)."""
    model = profile.model
    if model.order is None:
        raise NotSeriesProfile(
            f"profile {profile.id}: a rul or anomaly model needs `model.order` (the counter that orders a "
            f"machine's readings) in the profile"
        )
    numeric = profile.numeric_fields
    inputs = tuple(model.inputs or [f.name for f in numeric if f.required and f.name != model.order])
    anomaly = model.anomaly
    return SeriesProfile(
        id=profile.id,
        version=profile.version,
        source=source or f"profile {profile.id}",
        fields=tuple(NumericField(f.name, f.unit, f.min, f.max, f.required) for f in numeric),
        inputs=inputs,
        order=model.order,
        windows=window_spec(inputs, model.windows),
        kind=model.kind,
        rul_unit=model.rul.unit if model.rul else "cycles",
        horizon=model.rul.horizon if model.rul else 30.0,
        rul_cap=(model.rul.cap if model.rul and model.rul.cap else DEFAULT_CAP),
        normal_fraction=anomaly.normal_fraction if anomaly else 1.0,
        anomaly_windows=window_spec(inputs, anomaly.windows) if anomaly and anomaly.windows else None,
        anomaly_margin=anomaly.margin if anomaly else 4.0,
        csv_columns=dict(profile.csv_columns),
    )


def window_spec(inputs: Sequence[str], declared: Sequence[WindowDeclaration]) -> WindowSpec:
    """The windows a profile declares, over `inputs` (model/windows.py)."""
    windows = tuple(
        Window(ALL if item.size == "all" else int(item.size), tuple(item.stats), item.baseline) for item in declared
    )
    return WindowSpec(tuple(inputs), windows)
