"""Feature engineering from a machine profile, shared by training and serving: numpy only.

The worker imports this module, not :mod:`model.features`: importing scikit-learn costs
about 140 MB of memory and 1-3 s of start-up, and serving with the ONNX export never
needs it. :mod:`model.features` adds the Pipeline step.

Failure modes are often physical rules over a few derived quantities (the AI4I milling
machine: temperature difference, mechanical power, wear x torque against a per-type
limit), so the model gets what the profile declares, instead of approximating products and
differences with axis-aligned tree splits:

* the numeric fields, then the derived features (the profile's safe expressions);
* per physics rule, if the profile names them: the ratio to the limit, the signed margin
  (negative exactly inside the region, so one split finds it) and the 0/1 condition,
  compared in float64 like the data's labels (trees see float32 and ignore gaps below 1e-7,
  so they cannot find e.g. 8.6 K ties from the margins alone); all ratios first, then all
  margins, then all flags;
* each category one-hot encoded, in the order of its values.

The raw matrix a model takes holds each category as a code (its value's index) and then the
numeric fields, in profile order::

    spec = feature_spec(profile)
    raw = spec.raw_matrix([reading.values for reading in readings])
    features = spec.engineer(raw)        # (n, len(spec.feature_names))
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from contract import Profile, Reading, default_profile
from contract.profiles import Condition, PerCategory, Rule

__all__ = [
    "FEATURE_NAMES",
    "RAW_COLUMNS",
    "FeatureSpec",
    "engineer",
    "feature_spec",
    "raw_matrix",
    "spec_of_card",
    "spec_of_json",
]


class FeatureSpec:
    """How one profile's readings become the model's raw rows and features."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.categories = profile.category_fields
        self.numeric = profile.numeric_names
        self.derived = tuple(d.name for d in profile.derived)
        self.raw_columns: tuple[str, ...] = (*(f"{c.name}_code" for c in self.categories), *self.numeric)
        self.codes = [{value: float(i) for i, value in enumerate(c.values)} for c in self.categories]
        self.rules: tuple[Rule, ...] = tuple(profile.physics.rules) if profile.physics else ()
        ratios = [r.features.ratio for r in self.rules if r.features.ratio]
        margins = [r.features.margin for r in self.rules if r.features.margin]
        flags = [r.features.flag for r in self.rules if r.features.flag]
        one_hot = [f"{c.name}_{value}" for c in self.categories for value in c.values]
        self.feature_names: tuple[str, ...] = (*self.numeric, *self.derived, *ratios, *margins, *flags, *one_hot)
        self._category_of = {c.name: i for i, c in enumerate(self.categories)}

    # -- raw rows -----------------------------------------------------------------------

    def raw_matrix(self, values: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Readings' values as a float64 (n, len(raw_columns)) matrix; a missing number is NaN."""
        nan = math.nan
        codes, numeric = self.codes, self.numeric
        categories = [c.name for c in self.categories]
        rows = [
            [table.get(row.get(name), nan) for name, table in zip(categories, codes, strict=True)]  # type: ignore[arg-type]
            + [row.get(name, nan) for name in numeric]
            for row in values
        ]
        return np.array(rows, dtype=np.float64).reshape(len(rows), len(self.raw_columns))

    def quantities(self, raw: np.ndarray) -> dict[str, Any]:
        """Numeric fields and derived features of raw rows, by name (columns, or floats for one row)."""
        first = len(self.categories)
        found: dict[str, Any] = {name: raw[..., first + i] for i, name in enumerate(self.numeric)}
        for name in self.derived:
            found[name] = self.profile.expression(name).evaluate(found)
        return found

    def limit(self, limit: float | PerCategory, raw: np.ndarray) -> Any:
        """A limit for each raw row: the number itself, or the row's category's value (NaN if unknown)."""
        if not isinstance(limit, PerCategory):
            return float(limit)
        index = self._category_of[limit.by]
        table = np.array([limit.values[value] for value in self.categories[index].values], dtype=np.float64)
        codes = raw[..., index]
        if np.isnan(codes).any():
            known = ~np.isnan(codes)
            result = np.full(codes.shape, np.nan)
            result[known] = table[codes[known].astype(np.intp)]
            return result
        return table[codes.astype(np.intp)]

    # -- features -----------------------------------------------------------------------

    def engineer(self, raw: np.ndarray) -> np.ndarray:
        """Engineered features (feature_names order) of a raw matrix."""
        raw = self._checked(raw)
        quantities = self.quantities(raw)
        ratios, margins, flags = [], [], []
        for rule in self.rules:
            if rule.features.ratio:
                condition = rule.when[0]
                ratios.append(quantities[condition.value] / self.limit(_single_limit(condition), raw))
            if rule.features.margin:
                margins.append(self._margin(rule, quantities, raw))
            if rule.features.flag:
                flags.append(self._flag(rule, quantities, raw))
        one_hot = [raw[:, i] == code for i, table in enumerate(self.codes) for code in table.values()]
        columns = (
            *(quantities[name] for name in self.numeric),
            *(quantities[name] for name in self.derived),
            *ratios,
            *margins,
            *flags,
            *one_hot,
        )
        if not columns:
            return np.zeros((len(raw), 0))
        return np.column_stack(columns).astype(np.float64, copy=False)

    def _margin(self, rule: Rule, quantities: dict[str, Any], raw: np.ndarray) -> Any:
        """The largest scaled margin of the rule's conditions: negative only when all hold."""
        result = None
        for condition in rule.when:
            margin = self._condition_margin(condition, quantities[condition.value], raw)
            if condition.scale != 1.0:
                margin = margin / condition.scale
            result = margin if result is None else np.maximum(result, margin)
        return result

    def _condition_margin(self, condition: Condition, value: Any, raw: np.ndarray) -> Any:
        if condition.below is not None:
            return value - self.limit(condition.below, raw)
        if condition.above is not None:
            return self.limit(condition.above, raw) - value
        assert condition.outside is not None
        low, high = condition.outside
        return np.minimum(value - low, high - value)

    def _flag(self, rule: Rule, quantities: dict[str, Any], raw: np.ndarray) -> Any:
        result = None
        for condition in rule.when:
            holds = self.holds(condition, quantities[condition.value], raw)
            result = holds if result is None else result & holds
        return result

    def holds(self, condition: Condition, value: Any, raw: np.ndarray) -> Any:
        """Whether the condition holds, compared exactly (strictly) as the data's labels are."""
        if condition.below is not None:
            return value < self.limit(condition.below, raw)
        if condition.above is not None:
            return value > self.limit(condition.above, raw)
        assert condition.outside is not None
        low, high = condition.outside
        return (value < low) | (value > high)

    def _checked(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim != 2 or raw.shape[1] != len(self.raw_columns):
            raise ValueError(f"raw features must have shape (n, {len(self.raw_columns)}), got {raw.shape}")
        for i, table in enumerate(self.codes):
            codes = raw[:, i]
            allowed = np.array(list(table.values()))
            if raw.shape[0] and not (np.isin(codes, allowed) | np.isnan(codes)).all():
                names = ", ".join(f"{int(code)} ({value})" for value, code in table.items())
                raise ValueError(f"{self.raw_columns[i]} must be one of {names}")
        return raw


def _single_limit(condition: Condition) -> float | PerCategory:
    limit = condition.below if condition.below is not None else condition.above
    assert limit is not None
    return limit


# ---------------------------------------------------------------------------- lookups


def feature_spec(profile: Profile) -> FeatureSpec:
    """The feature spec of `profile`, built once per profile object."""
    spec: FeatureSpec = profile.cached("feature_spec", FeatureSpec)
    return spec


@functools.lru_cache(maxsize=64)
def spec_of_json(profile_json: str | None) -> FeatureSpec:
    """The spec of a profile saved as JSON (in a model), or of the default profile for None."""
    if profile_json is None:
        return feature_spec(default_profile())
    return feature_spec(Profile.model_validate(json.loads(profile_json)))


def spec_of_card(card: Mapping[str, Any]) -> FeatureSpec:
    """The spec a model was trained with: its card's profile, or the default (AI4I) for older cards."""
    definition = card.get("profile_definition")
    if definition is None:
        return spec_of_json(None)
    return spec_of_json(json.dumps(definition, sort_keys=True))


# The default profile's layout, for callers that only ever see the built-in machine class.
_DEFAULT = feature_spec(default_profile())
RAW_COLUMNS: tuple[str, ...] = _DEFAULT.raw_columns
FEATURE_NAMES: tuple[str, ...] = _DEFAULT.feature_names


def raw_matrix(readings: Sequence[Reading], spec: FeatureSpec | None = None) -> np.ndarray:
    """Readings as a raw matrix of `spec` (default: the default profile's)."""
    return (spec or _DEFAULT).raw_matrix([r.values for r in readings])


def engineer(raw: np.ndarray, spec: FeatureSpec | None = None) -> np.ndarray:
    """Engineered features of a raw matrix of `spec` (default: the default profile's)."""
    return (spec or _DEFAULT).engineer(raw)
