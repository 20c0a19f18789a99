"""What the time-series model kinds need from a machine profile, behind one small interface.

:class:`SeriesProfile` is all the RUL and anomaly code reads: the numeric fields with
their bounds, the CSV column map, the field that orders a machine's readings, the model
inputs and windows, the RUL unit, horizon and cap. Until issue 15's profile loader
(``contract.profiles``) lands, :func:`load_series_profile` reads the ``model`` section this
issue adds (see profiles/turbofan.yaml) with PyYAML and checks just those keys; afterwards
an adapter builds a SeriesProfile from the validated Profile and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from model.windows import ALL, Window, WindowSpec

__all__ = [
    "KINDS",
    "MACHINE_COLUMN",
    "NumericField",
    "ProfileError",
    "SeriesProfile",
    "load_series_profile",
    "parse_series_profile",
]

KINDS = ("classifier", "rul", "anomaly")
MACHINE_COLUMN = "machine_id"  # the envelope key a CSV column maps to for the machine


class ProfileError(ValueError):
    """A profile the time-series kinds cannot use; one line naming the file and the key."""


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
    rul_cap: float = 125.0
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


def load_series_profile(path: Path) -> SeriesProfile:
    """Read a profile file (ProfileError names the file and the key)."""
    source = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{source}: cannot read ({exc.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{source}: not valid YAML ({' '.join(str(exc).split())})") from None
    return parse_series_profile(document, source)


def parse_series_profile(document: Any, source: str) -> SeriesProfile:
    """Check the keys this module reads from a parsed profile document."""
    doc = _Doc(source)
    if not isinstance(document, dict):
        raise doc.error("", "a profile is a YAML mapping (id: ..., fields: [...])")
    fields = tuple(_numeric_field(doc, item, i) for i, item in enumerate(doc.get(document, "fields", list)))
    names = [f.name for f in fields if f.name]
    model = doc.get(document, "model", dict)
    inputs = tuple(doc.get(model, "inputs", list, "model") or [f.name for f in fields if f.required])
    doc.check_names(inputs, names, "model.inputs")
    order = doc.get(model, "order", str, "model")
    doc.check_names([order], names, "model.order")
    rul = doc.get(model, "rul", dict, "model", optional=True) or {}
    anomaly = doc.get(model, "anomaly", dict, "model", optional=True) or {}
    kind = doc.get(model, "kind", str, "model", optional=True) or "classifier"
    if kind not in KINDS:
        raise doc.error("model.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    columns = doc.get(document, "csv_columns", dict, optional=True) or {}
    unknown = sorted(str(t) for t in columns.values() if t not in {*names, MACHINE_COLUMN})
    if unknown:
        raise doc.error("csv_columns", f"{unknown[0]!r} is not a field (or {MACHINE_COLUMN})")
    return SeriesProfile(
        id=doc.get(document, "id", str),
        version=int(doc.number(document, "version", "", minimum=1, integer=True, default=1)),
        source=source,
        fields=tuple(f for f in fields if f.name),
        inputs=inputs,
        order=order,
        windows=_windows(doc, doc.get(model, "windows", list, "model", optional=True) or [], inputs, "model"),
        kind=kind,
        rul_unit=doc.get(rul, "unit", str, "model.rul", optional=True) or "cycles",
        horizon=doc.number(rul, "horizon", "model.rul", minimum=0, default=30),
        rul_cap=doc.number(rul, "cap", "model.rul", minimum=1, default=125),
        normal_fraction=doc.number(anomaly, "normal_fraction", "model.anomaly", minimum=0.01, maximum=1, default=1),
        anomaly_windows=_windows(doc, anomaly["windows"], inputs, "model.anomaly") if "windows" in anomaly else None,
        anomaly_margin=doc.number(anomaly, "margin", "model.anomaly", minimum=1, default=4),
        csv_columns={str(k): str(v) for k, v in columns.items()},
    )


def _numeric_field(doc: _Doc, item: Any, index: int) -> NumericField:
    """A sensor or counter; other kinds (category, text) come back nameless and are dropped."""
    at = f"fields[{index}]"
    if not isinstance(item, dict):
        raise doc.error(at, "must be a mapping")
    if item.get("kind") not in {"sensor", "counter"}:
        return NumericField("", "", 0.0, 0.0)
    low = doc.number(item, "min", at)
    high = doc.number(item, "max", at)
    if low > high:
        raise doc.error(f"{at}.min", f"min ({low:g}) > max ({high:g})")
    return NumericField(
        doc.get(item, "name", str, at), str(item.get("unit", "")), low, high, item.get("required", True)
    )


def _windows(doc: _Doc, items: Any, inputs: tuple[str, ...], at: str) -> WindowSpec:
    if not isinstance(items, list):
        raise doc.error(f"{at}.windows", "must be a list of {size: N or all, stats: [...]}")
    windows = []
    for i, item in enumerate(items):
        where = f"{at}.windows[{i}]"
        if not isinstance(item, dict):
            raise doc.error(where, "must be a mapping {size: N or all, stats: [...]}")
        unknown = sorted(set(item) - {"size", "stats", "baseline"})
        if unknown:
            raise doc.error(f"{where}.{unknown[0]}", "unknown key")
        size = ALL if item.get("size") == "all" else int(doc.number(item, "size", where, minimum=2, integer=True))
        baseline = int(doc.number(item, "baseline", where, minimum=0, integer=True, default=0))
        stats = doc.get(item, "stats", list, where)
        try:
            windows.append(Window(size, tuple(str(s) for s in stats), baseline))
        except ValueError as exc:
            raise doc.error(f"{where}.stats", str(exc)) from None
    try:
        return WindowSpec(inputs, tuple(windows))
    except ValueError as exc:
        raise doc.error(f"{at}.windows", str(exc)) from None


class _Doc:
    """Typed access to a parsed YAML document, with one-line errors naming the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, where: str, problem: str) -> ProfileError:
        return ProfileError(f"{self.source}: {where}: {problem}" if where else f"{self.source}: {problem}")

    def get(self, mapping: dict[str, Any], key: str, kind: type, at: str = "", optional: bool = False) -> Any:
        where = f"{at}.{key}" if at else key
        if key not in mapping or mapping[key] is None:
            if optional:
                return None
            raise self.error(where, "required key is missing")
        value = mapping[key]
        if not isinstance(value, kind):
            raise self.error(where, f"must be a {kind.__name__}, got {type(value).__name__}")
        return value

    def number(
        self,
        mapping: dict[str, Any],
        key: str,
        at: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        integer: bool = False,
        default: float | None = None,
    ) -> float:
        where = f"{at}.{key}" if at else key
        value = mapping.get(key, default)
        if value is None:
            raise self.error(where, "required key is missing")
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            raise self.error(where, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise self.error(where, f"{value} is outside [{minimum}, {maximum}]")
        return float(value)

    def check_names(self, names: Any, known: list[str], where: str) -> None:
        for name in names:
            if name not in known:
                raise self.error(where, f"{name!r} is not a sensor or counter field of the profile")
