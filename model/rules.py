"""A profile's failure-region rules in plain words, for a reading in or near a region; no I/O.

For each physics rule of the profile, the first condition is the one watched: the rule is
reported from ``physics.near`` (90 %) of its limit, while the others must hold outright
(the AI4I heat rule is watched on the temperature difference, at speeds below 1380 rpm).
Each report is ``{"mode", "holds", "margin", "text"}``: whether every condition holds, the
signed distance of the watched value to its limit, and the rule's sentence, written from
the profile's template (``{power_w:,.0f}``, ``{limit}``, ``{share:.0%}``, ``{state}``...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from contract.profiles import Condition, PerCategory, Rule
from model.engineering import FeatureSpec, spec_of_json

__all__ = ["rule_conditions"]


def rule_conditions(raw: np.ndarray, spec: FeatureSpec | None = None) -> list[dict[str, Any]]:
    """The rules this raw row (spec's raw columns) meets or nearly meets, in plain words."""
    spec = spec or spec_of_json(None)
    physics = spec.profile.physics
    if physics is None:
        return []
    row = np.asarray(raw, dtype=np.float64)
    values = {name: float(value) for name, value in spec.quantities(row).items()}
    found = (_condition(spec, rule, values, row, physics.near) for rule in physics.rules)
    return [c for c in found if c is not None]


def _condition(
    spec: FeatureSpec, rule: Rule, values: dict[str, float], row: np.ndarray, near: float
) -> dict[str, Any] | None:
    lead, others = rule.when[0], rule.when[1:]
    if not all(bool(spec.holds(c, values[c.value], row)) for c in others):
        return None
    value = values[lead.value]
    watched = _watched_limit(spec, lead, value, row, near)
    if watched is None:
        return None
    limit, side = watched
    holds = bool(spec.holds(lead, value, row))
    words: dict[str, Any] = dict(values)
    words |= {f"limit_{c.value}": _plain_limit(spec, c, row) for c in rule.when}
    words |= {
        "limit": limit,
        "share": value / limit if limit else float("inf"),
        "state": _state(lead) if holds else "near",
        "side": side,
        "category": _category(spec, lead, row),
    }
    text = (rule.explain.text or _generic_text(spec, lead)).format(**words)
    return {"mode": rule.mode, "holds": holds, "margin": round(value - limit, rule.explain.margin_digits), "text": text}


def _watched_limit(
    spec: FeatureSpec, condition: Condition, value: float, row: np.ndarray, near: float
) -> tuple[float, str] | None:
    """The limit the value is at or near (and its side), or None when it is far from it."""
    if condition.below is not None:
        limit = float(spec.limit(condition.below, row))
        return (limit, "upper") if value < limit / near else None
    if condition.above is not None:
        limit = float(spec.limit(condition.above, row))
        return (limit, "lower") if value >= near * limit else None
    assert condition.outside is not None
    low, high = condition.outside
    if low / near < value < high * near:
        return None
    return (low, "lower") if value <= low / near else (high, "upper")


def _plain_limit(spec: FeatureSpec, condition: Condition, row: np.ndarray) -> float:
    limit = condition.below if condition.below is not None else condition.above
    if limit is None:
        assert condition.outside is not None
        return condition.outside[0]
    return float(spec.limit(limit, row))


def _state(condition: Condition) -> str:
    if condition.below is not None:
        return "below"
    return "above" if condition.above is not None else "outside"


def _category(spec: FeatureSpec, condition: Condition, row: np.ndarray) -> str:
    """The category value a per-category limit was taken for ('' when the limit is a number)."""
    limit = condition.below if condition.below is not None else condition.above
    if not isinstance(limit, PerCategory):
        return ""
    code = spec.category_codes(row, limit.by)
    values = spec.profile.field(limit.by).values  # type: ignore[union-attr]
    return "" if np.isnan(code) else str(values[int(code)])


def _generic_text(spec: FeatureSpec, condition: Condition) -> str:
    """'<label> 12.3 unit below the 10 unit limit' for a rule without a template of its own."""
    quantity = spec.profile.quantity(condition.value)
    unit = f" {quantity.unit}" if quantity.unit else ""
    value = f"{{{condition.value}:,.{quantity.decimals}f}}"
    return f"{quantity.label} {value}{unit} {{state}} the {{limit:,g}}{unit} limit"
