"""A profile's failure-region rules in plain words, for a reading in or near a region; no I/O.

For each physics rule of the profile, the first condition is the one watched: the rule is
reported from ``physics.near`` (90 %) of its limit, while the others must hold outright
(the AI4I heat rule is watched on the temperature difference, at speeds below 1380 rpm).
Each report is ``{"mode", "holds", "margin", "text"}``: whether every condition holds, the
signed distance of the watched value to its limit, and the rule's sentence, written from
the profile's template (``{power_w:,.0f}``, ``{limit}``, ``{share:.0%}``, ``{state}``...).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from contract import Profile
from contract.profiles import Condition, PerCategory, Rule
from model.engineering import FeatureSpec, spec_of_json

__all__ = ["rule_conditions"]


def rule_conditions(raw: np.ndarray, spec: FeatureSpec | None = None) -> list[dict[str, Any]]:
    """The rules this raw row (spec's raw columns) meets or nearly meets, in plain words."""
    spec = spec or spec_of_json(None)
    physics = spec.profile.physics
    if physics is None:
        return []
    row = _Row(spec, [float(v) for v in raw])
    found = (_condition(row, rule, physics.near) for rule in physics.rules)
    return [c for c in found if c is not None]


class _Row:
    """One raw row as plain floats (per-row numpy costs more than the arithmetic), with its limits."""

    def __init__(self, spec: FeatureSpec, raw: list[float]) -> None:
        first = len(spec.categories)
        self.profile = spec.profile
        self.codes = dict(zip((c.name for c in spec.categories), raw[:first], strict=True))
        self.values: dict[str, float] = dict(zip(spec.numeric, raw[first:], strict=True))
        for name in spec.derived:
            self.values[name] = float(self.profile.expression(name).evaluate(self.values))

    def limit(self, limit: float | PerCategory) -> float:
        if not isinstance(limit, PerCategory):
            return float(limit)
        code = self.codes[limit.by]
        if math.isnan(code):
            return math.nan
        return float(limit.values[self.category(limit.by, code)])

    def category(self, name: str, code: float) -> str:
        return str(self.profile.field(name).values[int(code)])  # type: ignore[union-attr]

    def holds(self, condition: Condition) -> bool:
        value = self.values[condition.value]
        if condition.below is not None:
            return value < self.limit(condition.below)
        if condition.above is not None:
            return value > self.limit(condition.above)
        assert condition.outside is not None
        return value < condition.outside[0] or value > condition.outside[1]


def _condition(row: _Row, rule: Rule, near: float) -> dict[str, Any] | None:
    lead, others = rule.when[0], rule.when[1:]
    if not all(row.holds(c) for c in others):
        return None
    value = row.values[lead.value]
    watched = _watched_limit(row, lead, value, near)
    if watched is None:
        return None
    limit, side = watched
    holds = row.holds(lead)
    words: dict[str, Any] = dict(row.values)
    words |= {f"limit_{c.value}": _plain_limit(row, c) for c in rule.when}
    words |= {
        "limit": limit,
        "share": value / limit if limit else math.inf,
        "state": _state(lead) if holds else "near",
        "side": side,
        "category": _category(row, lead),
    }
    text = (rule.explain.text or _generic_text(row.profile, lead)).format(**words)
    return {"mode": rule.mode, "holds": holds, "margin": round(value - limit, rule.explain.margin_digits), "text": text}


def _watched_limit(row: _Row, condition: Condition, value: float, near: float) -> tuple[float, str] | None:
    """The limit the value is at or near (and its side), or None when it is far from it."""
    if condition.below is not None:
        limit = row.limit(condition.below)
        return (limit, "upper") if value < limit / near else None
    if condition.above is not None:
        limit = row.limit(condition.above)
        return (limit, "lower") if value >= near * limit else None
    assert condition.outside is not None
    low, high = condition.outside
    if low / near < value < high * near:
        return None
    return (low, "lower") if value <= low / near else (high, "upper")


def _plain_limit(row: _Row, condition: Condition) -> float:
    limit = condition.below if condition.below is not None else condition.above
    if limit is None:
        assert condition.outside is not None
        return condition.outside[0]
    return row.limit(limit)


def _state(condition: Condition) -> str:
    if condition.below is not None:
        return "below"
    return "above" if condition.above is not None else "outside"


def _category(row: _Row, condition: Condition) -> str:
    """The category value a per-category limit was taken for ('' when the limit is a number)."""
    limit = condition.below if condition.below is not None else condition.above
    if not isinstance(limit, PerCategory):
        return ""
    code = row.codes[limit.by]
    return "" if math.isnan(code) else row.category(limit.by, code)


def _generic_text(profile: Profile, condition: Condition) -> str:
    """'<label> 12.3 unit below the 10 unit limit' for a rule without a template of its own."""
    quantity = profile.quantity(condition.value)
    unit = f" {quantity.unit}" if quantity.unit else ""
    value = f"{{{condition.value}:,.{quantity.decimals}f}}"
    return f"{quantity.label} {value}{unit} {{state}} the {{limit:,g}}{unit} limit"
