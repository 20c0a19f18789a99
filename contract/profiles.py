"""Machine profiles: one declarative YAML file per machine class, validated by pydantic.

A profile says what a machine of its class reports (fields with units and physical
bounds, categories, counters that reset, free text), how it fails (failure modes),
what the model computes from the readings (derived features as safe expressions), and
optionally what is known of its physics (limit rules per category, counters approaching a
limit) and how to simulate it. Everything that used to be written into the code for the
AI4I milling machine is read from ``profiles/ai4i-mill.yaml`` instead.

    profile = load_profile(Path("profiles/ai4i-mill.yaml"))
    profile.numeric_fields            # sensors and counters, in file order
    builtin_profiles()["ai4i-mill"]   # the profiles shipped in the repository

A bad file raises :class:`ProfileError` with one line naming the file, the line, the field
path and the problem: ``profiles/x.yaml:12: fields[2].min: min (5) > max (1)``.
The JSON Schema of the format is ``Profile.model_json_schema()`` (``python -m contract schema``).
"""

from __future__ import annotations

import functools
import math
import string
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from contract.expressions import Expression, ExpressionError, parse_expression

__all__ = [
    "BUILTIN_DIR",
    "DEFAULT_PROFILE",
    "ENVELOPE_KEYS",
    "FIELD_KINDS",
    "MODEL_KINDS",
    "PROFILE_ID_PATTERN",
    "AnomalySection",
    "CategoryField",
    "Condition",
    "CounterField",
    "Derived",
    "FailureMode",
    "ModelSection",
    "Profile",
    "ProfileError",
    "RulSection",
    "Rule",
    "SensorField",
    "TextField",
    "WindowDeclaration",
    "builtin_profiles",
    "default_profile",
    "load_profile",
    "parse_profile",
]

BUILTIN_DIR = Path(__file__).resolve().parents[1] / "profiles"
DEFAULT_PROFILE = "ai4i-mill"
PROFILE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
FIELD_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
MODE_CODE_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,31}$"
# Keys of a reading's envelope: a field may not take one of these names.
ENVELOPE_KEYS = ("reading_id", "ts", "machine_id", "failure", "failure_description", "profile", "values")
CSV_ENVELOPE = ("machine_id", "failure", "failure_description")  # what a CSV column may hold besides fields
FIELD_KINDS = ("sensor", "counter", "category", "text")
RESERVED_MODES = ("none", "UNK")  # the classifier's "no failure" label and the unspecified failure
MAX_TEXT = 4096

FieldName = Annotated[str, Field(pattern=FIELD_NAME_PATTERN, description="lower-case name: letters, digits, _")]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


# ---------------------------------------------------------------------------- fields


class _Field(_Strict):
    name: FieldName = Field(description="the key in a reading's JSON, e.g. vibration_mm_s")
    label: Text = Field(description="what people call it, e.g. 'torque'")


class SensorField(_Field):
    """A number a sensor measures, with the physically plausible range."""

    kind: Literal["sensor"] = Field(description="a measured number")
    unit: str = Field("", max_length=32, description="unit shown beside the value, e.g. 'Nm'")
    min: float = Field(description="lowest plausible value (inclusive); below it a reading is rejected")
    max: float = Field(description="highest plausible value (inclusive); above it a reading is rejected")
    required: bool = Field(True, description="a reading without it is rejected (missing_field)")
    decimals: int = Field(2, ge=0, le=9, description="decimals shown in texts and tables")


class CounterField(SensorField):
    """A number that only grows until it is reset (tool wear): a drop means the part was replaced."""

    kind: Literal["counter"] = Field(description="a growing number; a drop means it was reset")  # type: ignore[assignment]
    usage: str = Field("use", max_length=64, description="what it counts, in words ('tool use'), for texts")


class CategoryField(_Field):
    """A string from a fixed set (the AI4I product quality L/M/H)."""

    kind: Literal["category"] = Field(description="one of a few allowed strings")
    values: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=64, description="the allowed values; the model one-hot encodes them in this order"
    )
    required: bool = Field(True, description="a reading without it is rejected (missing_field)")


class TextField(_Field):
    """Optional free text (a product or batch id); stored and shown, never a model input."""

    kind: Literal["text"] = Field(description="free text")
    max_length: int = Field(64, ge=1, le=MAX_TEXT, description="longest accepted text")
    required: bool = Field(False, description="a reading without it is rejected (missing_field)")


AnyField = Annotated[SensorField | CounterField | CategoryField | TextField, Field(discriminator="kind")]


class FailureMode(_Strict):
    """One way the machine fails; the model predicts these codes."""

    code: str = Field(pattern=MODE_CODE_PATTERN, description="short code, e.g. PWF")
    name: Text = Field(description="name as written in failure descriptions, e.g. 'Power Failure'")
    description: str = Field("", max_length=1000, description="what happens, for people")
    random: bool = Field(
        False, description="cannot be told from the readings (AI4I's RNF): rows naming it with failure 0 are normal"
    )


class Derived(_Strict):
    """A feature computed from the fields: safe arithmetic, never eval'ed."""

    name: FieldName = Field(description="feature name, e.g. power_w")
    label: Text = Field(description="what people call it")
    unit: str = Field("", max_length=32, description="its unit")
    expr: str = Field(
        min_length=1, max_length=500, description="arithmetic over fields and earlier derived features, e.g. a * b"
    )
    decimals: int = Field(2, ge=0, le=9, description="decimals shown in texts")


# ---------------------------------------------------------------------------- physics


class PerCategory(_Strict):
    """A limit that depends on a category (the AI4I overstrain limit per product quality)."""

    by: FieldName = Field(description="the category field")
    values: dict[str, float] = Field(description="the limit for each of the category's values")


Limit = float | PerCategory


class Condition(_Strict):
    """One comparison of a field or derived feature with a limit; exactly one of below/above/outside."""

    value: FieldName = Field(description="the field or derived feature compared")
    below: Limit | None = Field(None, description="holds when value < this")
    above: Limit | None = Field(None, description="holds when value > this")
    outside: tuple[float, float] | None = Field(None, description="holds when value < low or value > high")
    scale: float = Field(
        1.0, gt=0, description="units of this condition worth one unit of the first, for the rule's margin"
    )


class RuleFeatures(_Strict):
    """The model features a rule adds (each optional, named here)."""

    margin: FieldName | None = Field(None, description="signed distance to the region, negative inside")
    ratio: FieldName | None = Field(None, description="value / limit (one below/above condition only)")
    flag: FieldName | None = Field(None, description="1 when the rule holds, else 0")


class RuleText(_Strict):
    """How an explanation states the rule."""

    text: str | None = Field(
        None,
        max_length=500,
        description="template: {<value name>[:format]}, {limit}, {limit_<value name>}, {share}, {state}, {category}",
    )
    margin_digits: int = Field(2, ge=0, le=9, description="digits of the margin reported with the text")


class Rule(_Strict):
    """A failure region: the mode happens when every condition holds."""

    mode: str = Field(description="the failure mode this region causes")
    when: list[Condition] = Field(min_length=1, max_length=8, description="all must hold (AND)")
    features: RuleFeatures = Field(RuleFeatures(), description="features the model gets from it")
    explain: RuleText = Field(RuleText(), description="its sentence in explanations")


class RecentQuantile(_Strict):
    """A recent percentile of a field, per machine (the torque a machine reaches often)."""

    field: FieldName = Field(description="the numeric field")
    quantile: float = Field(90.0, ge=0, le=100, description="percentile of its recent values")
    floor: float = Field(1.0, gt=0, description="smallest value used (avoids dividing by ~0)")


class CounterLimit(_Strict):
    """A counter approaching a limit: remaining = limit [/ recent quantile] - counter."""

    mode: str = Field(description="the failure mode reached at the limit")
    counter: FieldName = Field(description="the counter field")
    limit: Limit = Field(description="the limit (of counter, or of counter x per.field)")
    per: RecentQuantile | None = Field(None, description="the limit is on counter times this quantity")
    region: Text = Field(description="what is reached, in words: 'overstrain limit'")


class EarlyWarning(_Strict):
    """Warn while fewer than `horizon` counter units remain before any of the limits."""

    horizon: float = Field(gt=0, description="warn when this much of the counter or less remains")
    min_readings: int = Field(5, ge=1, description="readings since the reset before a recent quantile is trusted")
    window: int = Field(50, ge=1, le=10_000, description="recent readings kept per machine")
    limits: list[CounterLimit] = Field(min_length=1, description="the first with the least remaining is reported")


class Physics(_Strict):
    """What is known of the machine's physics: used by features, explanations, early warning, simulator."""

    rules: list[Rule] = Field(default_factory=list, description="failure regions")
    near: float = Field(0.9, gt=0, le=1, description="explanations report a rule from this share of its limit")
    early_warning: EarlyWarning | None = Field(None, description="counters approaching a limit")


# ---------------------------------------------------------------------------- model, simulation


class Labels(_Strict):
    """How training data names its outcomes."""

    no_failure: str = Field("No Failure", description="failure description of a normal row (empty also works)")
    unspecified: list[str] = Field(
        default_factory=list, description="descriptions of failures of unknown mode: scored as failures, not learned"
    )


MODEL_KINDS = ("classifier", "rul", "anomaly")
WINDOW_STATS = ("mean", "slope", "min", "max")
ModelKind = Literal["classifier", "rul", "anomaly"]
WindowStat = Literal["mean", "slope", "min", "max"]


class WindowDeclaration(_Strict):
    """Statistics over a machine's last readings (model/windows.py), computed alike in training and serving."""

    size: Annotated[int, Field(ge=2, le=10_000)] | Literal["all"] = Field(
        description="the last N readings, or `all` since the machine's first reading (its life so far)"
    )
    stats: list[WindowStat] = Field(min_length=1, max_length=4, description="mean, slope, min, max (each once)")
    baseline: int = Field(
        0, ge=0, le=10_000, description="report mean/min/max relative to the mean of the first N readings (0: none)"
    )

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        """One clear message instead of one per member of the union."""
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value != "all" and not (whole and 2 <= value <= 10_000):
            raise PydanticCustomError("window_size", "give a whole number of readings (2 to 10000) or `all`")
        return value


class RulSection(_Strict):
    """The remaining-useful-life model's unit, warning horizon and training cap."""

    unit: str = Field("cycles", min_length=1, max_length=32, description="unit of the remaining life: cycles, hours")
    horizon: float = Field(gt=0, description="status `predictive` (and an alert) when the RUL falls below this")
    cap: float | None = Field(
        None, gt=0, description="training target min(RUL, cap): early in life the remaining life is not observable"
    )


class AnomalySection(_Strict):
    """How an anomaly detector learns normal behaviour and sets its threshold."""

    normal_fraction: float = Field(
        1.0, gt=0, le=1, description="the start of each training history taken as normal (1: every row)"
    )
    margin: float = Field(4.0, ge=1, le=1000, description="alarm above margin x the largest normal training score")
    windows: list[WindowDeclaration] | None = Field(
        None, max_length=16, description="the detector's own window features (default: the model's windows)"
    )


class ModelSection(_Strict):
    """What kind of model serves the profile, and what it reads."""

    kind: ModelKind = Field(
        "classifier",
        description="classifier: failure probability and mode; rul: remaining useful life; anomaly: no labels",
    )
    labels: Labels = Field(Labels(), description="outcome labels of training data")
    inputs: list[FieldName] | None = Field(
        None, min_length=1, max_length=256, description="fields a rul or anomaly model reads (default: every sensor)"
    )
    order: FieldName | None = Field(
        None, description="the counter ordering a machine's readings (a drop starts a new life); needed by windows"
    )
    windows: list[WindowDeclaration] = Field(
        default_factory=list, max_length=16, description="rolling window features per machine"
    )
    rul: RulSection | None = Field(None, description="remaining useful life (kind rul)")
    anomaly: AnomalySection | None = Field(None, description="anomaly detection (kind anomaly)")

    @property
    def windowed(self) -> bool:
        """Whether a machine of this profile has per-machine window state (then one worker scores it)."""
        return bool(self.windows or (self.anomaly is not None and self.anomaly.windows))


class Walk(_Strict):
    sd: float = Field(gt=0, description="stationary standard deviation")
    memory: float = Field(gt=0, lt=1, description="share of the previous deviation kept each step")


class Normal(_Strict):
    sd: float = Field(ge=0, description="standard deviation of independent noise")


class Signal(_Strict):
    """One simulated number: expr over earlier signals + noise, then bounded and rounded."""

    field: FieldName = Field(description="the sensor field simulated")
    expr: str = Field("0", max_length=500, description="mean value: arithmetic over earlier signals (unrounded)")
    walk: Walk | None = Field(None, description="mean-reverting random walk added to expr")
    normal: Normal | None = Field(None, description="independent normal noise added to expr")
    redraw_below: float | None = Field(None, description="draw the noise again while the value is below this")
    min: float | None = Field(None, description="values below are raised to this")
    round: int | None = Field(None, ge=0, le=9, description="decimals the sensor reports")


class ChanceFailure(_Strict):
    mode: str = Field(description="failure mode")
    share: float = Field(ge=0, le=1, description="probability")


class CounterSimulation(_Strict):
    """A counter that grows each step and is reset at the end of a life drawn uniformly."""

    field: FieldName = Field(description="the counter field")
    step: Limit = Field(description="growth per reading (a number or per category)")
    life: tuple[int, int] = Field(description="the reset comes at a whole value drawn in [low, high]")
    fails: ChanceFailure | None = Field(None, description="the chance that the reset is a failure")


class Serial(_Strict):
    field: FieldName = Field(description="the text field that gets a serial number")
    prefix: FieldName | None = Field(None, description="category field written before the number")
    first: int = Field(10_000, ge=0, description="first serial number")


class Simulation(_Strict):
    """What `publisher simulate` needs beyond the physics rules."""

    categories: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="category field -> share of each value (drawn per reading)"
    )
    signals: list[Signal] = Field(min_length=1, description="simulated in this order")
    counters: list[CounterSimulation] = Field(default_factory=list, description="growing counters")
    random_failure: ChanceFailure | None = Field(None, description="a failure at random, per reading")
    serial: Serial | None = Field(None, description="a serial number per reading")


# ---------------------------------------------------------------------------- the profile


class Profile(_Strict):
    """A machine class: what its machines report, how they fail, what is known of their physics."""

    id: str = Field(pattern=PROFILE_ID_PATTERN, description="stable id, e.g. ai4i-mill")
    name: Text = Field(description="human name")
    description: str = Field("", max_length=4000, description="what machines of this class are")
    version: int = Field(1, ge=1, description="bumped on every change")
    fields: list[AnyField] = Field(min_length=1, max_length=256, description="what a reading carries")
    failure_modes: list[FailureMode] = Field(default_factory=list, description="how the machine fails")
    derived: list[Derived] = Field(default_factory=list, description="features computed from the fields")
    physics: Physics | None = Field(None, description="known physics (optional)")
    model: ModelSection = Field(ModelSection(), description="the model serving it")
    simulation: Simulation | None = Field(None, description="how to simulate it (optional)")
    csv_columns: dict[str, str] = Field(
        default_factory=dict,
        description="CSV column -> field (or machine_id, failure, failure_description) in this class's data files",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        """Cross-references: names, categories, modes, expressions."""
        for path, message in _problems(self):
            raise _SemanticError(path, message)
        return self

    # -- views ------------------------------------------------------------------------

    def field(self, name: str) -> SensorField | CounterField | CategoryField | TextField:
        for item in self.fields:
            if item.name == name:
                return item
        raise KeyError(name)

    @property
    def numeric_fields(self) -> list[SensorField]:
        """Sensors and counters (counters are SensorFields too), in file order."""
        return [f for f in self.fields if isinstance(f, SensorField)]

    @property
    def numeric_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.numeric_fields)

    @property
    def category_fields(self) -> list[CategoryField]:
        return [f for f in self.fields if isinstance(f, CategoryField)]

    @property
    def text_fields(self) -> list[TextField]:
        return [f for f in self.fields if isinstance(f, TextField)]

    @property
    def mode_codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.failure_modes)

    def expression(self, derived_name: str) -> Expression:
        """The checked expression of a derived feature."""
        return _compiled(self).expressions[derived_name]

    def quantity(self, name: str) -> SensorField | Derived:
        """A numeric field or a derived feature by name (its label, unit and decimals)."""
        for item in self.derived:
            if item.name == name:
                return item
        found = self.field(name)
        assert isinstance(found, SensorField)
        return found

    def cached(self, key: str, build: Any) -> Any:
        """A value computed once per profile object (parsers, feature specs)."""
        cache = _compiled(self).cache
        found = cache.get(key)
        if found is None:
            found = cache[key] = build(self)
        return found

    def to_json_dict(self) -> dict[str, Any]:
        """The profile as plain JSON data (for /api/profiles and model cards)."""
        return self.model_dump(mode="json", exclude_none=True)


# ---------------------------------------------------------------------------- compiled parts


class _Compiled:
    """What is built from a profile once: its expressions, and the caller's cached values.

    Kept outside the pydantic model on purpose: a private attribute of a frozen model costs
    microseconds per access, and the worker asks for these on every reading.
    """

    __slots__ = ("cache", "expressions")

    def __init__(self, profile: Profile) -> None:
        known = set(profile.numeric_names)
        self.expressions: dict[str, Expression] = {}
        for item in profile.derived:
            self.expressions[item.name] = parse_expression(item.expr, known)
            known.add(item.name)
        self.cache: dict[str, Any] = {}


_COMPILED: dict[int, tuple[Profile, _Compiled]] = {}


def _compiled(profile: Profile) -> _Compiled:
    found = _COMPILED.get(id(profile))
    if found is None or found[0] is not profile:
        if len(_COMPILED) > 1024:  # profiles re-read many times: forget the old objects
            _COMPILED.clear()
        found = _COMPILED[id(profile)] = (profile, _Compiled(profile))
    return found[1]


# ---------------------------------------------------------------------------- semantic checks

Path_ = tuple[str | int, ...]


class _SemanticError(ValueError):
    def __init__(self, path: Path_, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _problems(profile: Profile) -> Iterable[tuple[Path_, str]]:
    yield from _field_problems(profile)
    yield from _mode_problems(profile)
    yield from _derived_problems(profile)
    if profile.physics is not None:
        yield from _physics_problems(profile, profile.physics)
    if profile.simulation is not None:
        yield from _simulation_problems(profile, profile.simulation)
    yield from _model_problems(profile, profile.model)
    targets = {f.name for f in profile.fields} | set(CSV_ENVELOPE)
    for column, target in profile.csv_columns.items():
        if target not in targets:
            yield ("csv_columns", column), f"{target!r} is not a field (or {', '.join(CSV_ENVELOPE)})"


def _field_problems(profile: Profile) -> Iterable[tuple[Path_, str]]:
    seen: set[str] = set()
    for i, item in enumerate(profile.fields):
        if item.name in ENVELOPE_KEYS:
            yield ("fields", i, "name"), f"{item.name!r} is reserved for the reading's envelope"
        if item.name in seen:
            yield ("fields", i, "name"), f"field {item.name!r} is declared twice"
        seen.add(item.name)
        if isinstance(item, SensorField) and not (math.isfinite(item.min) and math.isfinite(item.max)):
            yield ("fields", i, "min"), "min and max must be finite numbers"
        if isinstance(item, SensorField) and item.min > item.max:
            yield ("fields", i, "min"), f"min ({item.min:g}) > max ({item.max:g})"
        if isinstance(item, CategoryField) and len(set(item.values)) != len(item.values):
            yield ("fields", i, "values"), "values must not repeat"


def _mode_problems(profile: Profile) -> Iterable[tuple[Path_, str]]:
    codes: set[str] = set()
    for i, mode in enumerate(profile.failure_modes):
        if mode.code in codes:
            yield ("failure_modes", i, "code"), f"failure mode {mode.code!r} is declared twice"
        if mode.code.lower() in {m.lower() for m in RESERVED_MODES}:
            yield ("failure_modes", i, "code"), f"{mode.code!r} is reserved"
        codes.add(mode.code)


def _derived_problems(profile: Profile) -> Iterable[tuple[Path_, str]]:
    known = set(profile.numeric_names)
    taken = {f.name for f in profile.fields}
    for i, item in enumerate(profile.derived):
        if item.name in taken or item.name in ENVELOPE_KEYS:
            yield ("derived", i, "name"), f"{item.name!r} is already a field or feature name"
        try:
            parse_expression(item.expr, known)
        except ExpressionError as exc:
            yield ("derived", i, "expr"), str(exc)
        known.add(item.name)
        taken.add(item.name)


def _physics_problems(profile: Profile, physics: Physics) -> Iterable[tuple[Path_, str]]:
    quantities = set(profile.numeric_names) | {d.name for d in profile.derived}
    taken = {f.name for f in profile.fields} | {d.name for d in profile.derived}
    for r, rule in enumerate(physics.rules):
        at: Path_ = ("physics", "rules", r)
        if rule.mode not in profile.mode_codes:
            yield (*at, "mode"), f"{rule.mode!r} is not one of the failure modes ({', '.join(profile.mode_codes)})"
        for c, condition in enumerate(rule.when):
            yield from _condition_problems(profile, condition, quantities, (*at, "when", c))
        single = len(rule.when) == 1 and rule.when[0].outside is None
        if rule.features.ratio is not None and not single:
            yield (*at, "features", "ratio"), "a ratio needs exactly one below/above condition"
        for kind in ("margin", "ratio", "flag"):
            name = getattr(rule.features, kind)
            if name is not None and name in taken:
                yield (*at, "features", kind), f"feature name {name!r} is already taken"
            taken.add(name)
        if rule.explain.text is not None:
            yield from _template_problems(rule, (*at, "explain", "text"))
    if physics.early_warning is not None:
        yield from _warning_problems(profile, physics.early_warning)


def _condition_problems(
    profile: Profile, condition: Condition, quantities: set[str], at: Path_
) -> Iterable[tuple[Path_, str]]:
    if condition.value not in quantities:
        yield (*at, "value"), f"{condition.value!r} is not a numeric field or derived feature"
    given = [k for k in ("below", "above", "outside") if getattr(condition, k) is not None]
    if len(given) != 1:
        yield at, f"give exactly one of below, above, outside (got {', '.join(given) or 'none'})"
    if condition.outside is not None and condition.outside[0] > condition.outside[1]:
        yield (*at, "outside"), f"low ({condition.outside[0]:g}) > high ({condition.outside[1]:g})"
    for key in ("below", "above"):
        limit = getattr(condition, key)
        if isinstance(limit, PerCategory):
            yield from _per_category_problems(profile, limit, (*at, key))


def _per_category_problems(profile: Profile, limit: PerCategory, at: Path_) -> Iterable[tuple[Path_, str]]:
    category = next((f for f in profile.category_fields if f.name == limit.by), None)
    if category is None:
        yield (*at, "by"), f"{limit.by!r} is not a category field"
        return
    if set(limit.values) != set(category.values):
        yield (*at, "values"), f"give a value for each of {', '.join(category.values)} and no other"


_PLACEHOLDERS = ("limit", "share", "state", "side", "category")


def _template_problems(rule: Rule, at: Path_) -> Iterable[tuple[Path_, str]]:
    allowed = set(_PLACEHOLDERS) | {c.value for c in rule.when} | {f"limit_{c.value}" for c in rule.when}
    try:
        parts = list(string.Formatter().parse(rule.explain.text or ""))
    except ValueError as exc:
        yield at, f"bad template ({exc})"
        return
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed:
            yield at, f"placeholder {{{name}}} is not one of {', '.join(sorted(allowed))}"
        elif conversion or (spec and not set(spec) <= set(",._0123456789%fegd+-")):
            yield at, f"placeholder {{{name}}}: only a number format is allowed"


def _warning_problems(profile: Profile, warning: EarlyWarning) -> Iterable[tuple[Path_, str]]:
    counters = {f.name for f in profile.numeric_fields if isinstance(f, CounterField)}
    for i, item in enumerate(warning.limits):
        at: Path_ = ("physics", "early_warning", "limits", i)
        if item.mode not in profile.mode_codes:
            yield (*at, "mode"), f"{item.mode!r} is not one of the failure modes"
        if item.counter not in counters:
            yield (*at, "counter"), f"{item.counter!r} is not a counter field"
        if item.per is not None and item.per.field not in profile.numeric_names:
            yield (*at, "per", "field"), f"{item.per.field!r} is not a numeric field"
        if isinstance(item.limit, PerCategory):
            yield from _per_category_problems(profile, item.limit, (*at, "limit"))


def _model_problems(profile: Profile, model: ModelSection) -> Iterable[tuple[Path_, str]]:
    required = {f.name for f in profile.numeric_fields if f.required}
    numeric = set(profile.numeric_names)
    for i, name in enumerate(model.inputs or ()):
        if name not in required:
            yield ("model", "inputs", i), f"{name!r} is not a required sensor or counter field"
    if model.inputs is not None and len(set(model.inputs)) != len(model.inputs):
        yield ("model", "inputs"), "inputs must not repeat"
    if model.order is not None and model.order not in required:
        yield ("model", "order"), f"{model.order!r} is not a required sensor or counter field"
    if model.order is not None and model.order not in numeric:
        return
    series = model.kind != "classifier"
    if (series or model.windowed) and model.order is None:
        yield ("model",), f"kind {model.kind} with windows needs `order`: the counter that orders readings"
    if model.kind == "rul" and model.rul is None:
        yield ("model",), "kind rul needs a `rul` section (unit, horizon)"
    if model.kind == "classifier" and model.windowed:
        yield ("model", "windows"), "window features are for kinds rul and anomaly"
    yield from _window_problems(model.windows, ("model", "windows"))
    if model.anomaly is not None and model.anomaly.windows is not None:
        yield from _window_problems(model.anomaly.windows, ("model", "anomaly", "windows"))


def _window_problems(windows: Sequence[WindowDeclaration], at: Path_) -> Iterable[tuple[Path_, str]]:
    seen: set[tuple[int | str, int]] = set()
    for i, window in enumerate(windows):
        if len(set(window.stats)) != len(window.stats):
            yield (*at, i, "stats"), "stats must not repeat"
        if (window.size, window.baseline) in seen:
            yield (*at, i, "size"), "windows must differ in size or baseline"
        seen.add((window.size, window.baseline))


def _simulation_problems(profile: Profile, simulation: Simulation) -> Iterable[tuple[Path_, str]]:
    for name, shares in simulation.categories.items():
        category = next((f for f in profile.category_fields if f.name == name), None)
        if category is None or set(shares) != set(category.values):
            yield ("simulation", "categories", name), "name a category field and give a share for each of its values"
        elif not math.isclose(sum(shares.values()), 1.0, abs_tol=1e-9):
            yield ("simulation", "categories", name), "shares must add up to 1"
    yield from _signal_problems(profile, simulation)
    yield from _counter_simulation_problems(profile, simulation)
    chance = simulation.random_failure
    if chance is not None and chance.mode not in profile.mode_codes:
        yield ("simulation", "random_failure", "mode"), f"{chance.mode!r} is not a failure mode"
    serial = simulation.serial
    if serial is not None and serial.field not in {f.name for f in profile.text_fields}:
        yield ("simulation", "serial", "field"), f"{serial.field!r} is not a text field"
    if serial is not None and serial.prefix is not None and serial.prefix not in simulation.categories:
        yield ("simulation", "serial", "prefix"), f"{serial.prefix!r} is not a simulated category"


def _signal_problems(profile: Profile, simulation: Simulation) -> Iterable[tuple[Path_, str]]:
    sensors = {f.name for f in profile.numeric_fields if not isinstance(f, CounterField)}
    known: set[str] = set()
    for i, signal in enumerate(simulation.signals):
        if signal.field not in sensors or signal.field in known:
            yield ("simulation", "signals", i, "field"), f"{signal.field!r} is not a sensor field simulated once"
        if signal.walk is not None and signal.normal is not None:
            yield ("simulation", "signals", i), "give walk or normal noise, not both"
        try:
            parse_expression(signal.expr, known)
        except ExpressionError as exc:
            yield ("simulation", "signals", i, "expr"), str(exc)
        known.add(signal.field)


def _counter_simulation_problems(profile: Profile, simulation: Simulation) -> Iterable[tuple[Path_, str]]:
    counters = {f.name for f in profile.numeric_fields if isinstance(f, CounterField)}
    for i, counter in enumerate(simulation.counters):
        if counter.field not in counters:
            yield ("simulation", "counters", i, "field"), f"{counter.field!r} is not a counter field"
        if counter.life[0] > counter.life[1]:
            yield ("simulation", "counters", i, "life"), "low > high"
        if isinstance(counter.step, PerCategory):
            yield from _per_category_problems(profile, counter.step, ("simulation", "counters", i, "step"))
        if counter.fails is not None and counter.fails.mode not in profile.mode_codes:
            yield ("simulation", "counters", i, "fails", "mode"), f"{counter.fails.mode!r} is not a failure mode"


# ---------------------------------------------------------------------------- loading


class ProfileError(ValueError):
    """A profile that cannot be used; the message is one line: file:line: field: problem."""

    def __init__(self, source: str, line: int | None, where: str, problem: str) -> None:
        location = f"{source}:{line}" if line else source
        super().__init__(f"{location}: {where}: {problem}" if where else f"{location}: {problem}")
        self.source = source
        self.line = line
        self.where = where
        self.problem = problem


def load_profile(path: Path, source: str | None = None) -> Profile:
    """Read and validate a profile file; ProfileError names the file, line and field."""
    shown = source or _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(shown, None, "", f"cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_profile(text, shown)


def parse_profile(text: str, source: str) -> Profile:
    """Validate profile YAML text read from `source` (named in errors)."""
    from contract.yaml_marks import MarkedDocument, YamlError

    try:
        document = MarkedDocument.parse(text)
    except YamlError as exc:
        raise ProfileError(source, exc.line, "", f"invalid YAML: {exc.problem}") from None
    if document.root is None:
        raise ProfileError(source, 1, "", "the file is empty")
    if not isinstance(document.data, dict):
        raise ProfileError(source, 1, "", "a profile is a YAML mapping (id: ..., fields: [...])")
    try:
        return Profile.model_validate(document.data)
    except ValidationError as exc:
        error = _first_error(exc)
        if isinstance(error, _SemanticError):
            raise _located(source, document, error.path, error.message) from None
        if isinstance(error, ExpressionError):
            raise ProfileError(source, None, "", str(error)) from None
        assert isinstance(error, dict)
        raise _located(source, document, tuple(error["loc"]), _message(error)) from None


def _first_error(exc: ValidationError) -> dict[str, Any] | Exception:
    first = exc.errors(include_url=False)[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, _SemanticError | ExpressionError):
        return cause
    return dict(first)


def _located(source: str, document: Any, path: Sequence[str | int], message: str) -> ProfileError:
    line, shown = document.locate(path)
    return ProfileError(source, line, shown, message)


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key {error['loc'][-1]!r}"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        return f"kind must be one of {', '.join(FIELD_KINDS)}"
    if kind == "union_tag_not_found":
        return f"give a kind ({', '.join(FIELD_KINDS)})"
    return str(error["msg"])


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@functools.cache
def builtin_profiles() -> dict[str, Profile]:
    """The profiles shipped in the repository's profiles/ folder, by id."""
    found: dict[str, Profile] = {}
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        profile = load_profile(path, f"profiles/{path.name}")
        if profile.id != path.stem:
            raise ProfileError(f"profiles/{path.name}", None, "id", f"must equal the file name ({path.stem!r})")
        found[profile.id] = profile
    return found


def default_profile() -> Profile:
    """The built-in default profile (the AI4I milling machine)."""
    return builtin_profiles()[DEFAULT_PROFILE]
