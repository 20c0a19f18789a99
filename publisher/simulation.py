"""A machine simulated from its profile: a pure, seeded stream of samples.

The profile's ``simulation`` section says how each value is drawn and its ``physics``
section which failures follow from the values; for the AI4I milling machine that is Matzka's
generator (AI4I 2020), see profiles/ai4i-mill.yaml. For each step, in this order:

- each category field is drawn with its shares (unless fixed, e.g. ``--category type=M``);
- each signal, in the profile's order: its ``expr`` over the earlier signals (unrounded),
  plus its noise, a mean-reverting walk (AR(1) with the given stationary spread) or
  independent normal noise (drawn again while below ``redraw_below``), raised to ``min``,
  then rounded to the decimals the sensor reports;
- counters report their value; then each either ends its life (a whole value drawn in
  ``life``, or earlier if the next step would pass the end) and resets to 0, failing with the
  given chance, or grows by its step (per category);
- a failure at random with the given chance.

The failures that follow from the values are the physics rules, applied to the rounded
values, so a sample's flags agree with its published numbers. No I/O, no clock: all
randomness comes from the numpy Generator passed in, so a seed fixes the whole stream.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from contract import Profile, default_profile
from contract.expressions import parse_expression
from contract.profiles import Condition, PerCategory, Signal, Simulation
from publisher.sample import Sample, describe_modes

__all__ = ["SimulationError", "Simulator", "physical_modes"]


class SimulationError(ValueError):
    """A profile that cannot be simulated, or a fixed category value it does not allow."""


def physical_modes(values: Mapping[str, float | str], profile: Profile | None = None) -> set[str]:
    """The failure modes whose physics rules hold for these values."""
    profile = profile or default_profile()
    if profile.physics is None:
        return set()
    quantities: dict[str, float] = {k: v for k, v in values.items() if isinstance(v, float)}
    for item in profile.derived:
        quantities[item.name] = profile.expression(item.name).scalar(quantities)
    return {rule.mode for rule in profile.physics.rules if all(_holds(c, quantities, values) for c in rule.when)}


def _holds(condition: Condition, quantities: Mapping[str, float], values: Mapping[str, float | str]) -> bool:
    value = quantities[condition.value]
    if condition.below is not None:
        return value < _limit(condition.below, values)
    if condition.above is not None:
        return value > _limit(condition.above, values)
    assert condition.outside is not None
    return value < condition.outside[0] or value > condition.outside[1]


def _limit(limit: float | PerCategory, values: Mapping[str, float | str]) -> float:
    if isinstance(limit, PerCategory):
        return limit.values[str(values[limit.by])]
    return limit


class Simulator:
    """One simulated machine; each :meth:`step` is one reading of it."""

    def __init__(
        self,
        rng: np.random.Generator,
        profile: Profile | None = None,
        categories: Mapping[str, str] | None = None,
    ) -> None:
        self.profile = profile or default_profile()
        if self.profile.simulation is None:
            raise SimulationError(f"profile {self.profile.id} has no simulation section")
        self._sim: Simulation = self.profile.simulation
        self._fixed = _checked_categories(self.profile, dict(categories or {}))
        # The categories each step fills (fixed or drawn), in profile order, with their values.
        self._categories = {
            c.name: c.values
            for c in self.profile.category_fields
            if c.name in self._sim.categories or c.name in self._fixed
        }
        self._rng = rng
        self._expressions = {
            s.field: parse_expression(s.expr, set(self._known_before(s.field))) for s in self._sim.signals
        }
        # Start from the walks' stationary spread so even a short run looks like the data.
        self._walks = {s.field: float(rng.normal(0.0, s.walk.sd)) for s in self._sim.signals if s.walk is not None}
        self._counters = {c.field: 0.0 for c in self._sim.counters}
        self._lives = {c.field: self._draw_life(c.life) for c in self._sim.counters}
        self._serial = self._sim.serial.first if self._sim.serial else 0

    def _known_before(self, field: str) -> list[str]:
        names = [s.field for s in self._sim.signals]
        return names[: names.index(field)]

    def step(self) -> Sample:
        """Advance one step and return what the sensors report for it."""
        values: dict[str, float | str] = {}
        for name in self._categories:
            values[name] = self._fixed.get(name) or self._draw_category(name)
        values |= self._signals()
        values |= self._counters
        serial = self._sim.serial
        if serial is not None:
            prefix = str(values[serial.prefix]) if serial.prefix else ""
            values[serial.field] = f"{prefix}{self._serial}"
            self._serial += 1
        modes = physical_modes(values, self.profile) | self._chance_modes(values)
        return Sample(values, 1 if modes else 0, describe_modes(modes, self.profile))

    def _draw_category(self, name: str) -> str:
        shares = self._sim.categories[name]
        allowed = self._categories[name]
        draw, total = float(self._rng.random()), 0.0
        for value in allowed:
            total += shares[value]
            if draw < total:
                return str(value)
        return str(allowed[-1])

    def _signals(self) -> dict[str, float]:
        exact: dict[str, float] = {}
        reported: dict[str, float] = {}
        for signal in self._sim.signals:
            base = self._expressions[signal.field].scalar(exact)
            value = self._noisy(signal.field, base, signal)
            if signal.min is not None:
                value = max(value, signal.min)
            exact[signal.field] = value
            reported[signal.field] = value if signal.round is None else _rounded(value, signal.round)
        return reported

    def _noisy(self, field: str, base: float, signal: Signal) -> float:
        if signal.walk is not None:
            walk = signal.walk
            step = float(self._rng.normal(0.0, walk.sd * math.sqrt(1 - walk.memory * walk.memory)))
            self._walks[field] = walk.memory * self._walks[field] + step
            return base + self._walks[field]
        if signal.normal is None:
            return base
        while True:  # redraw the rare value below the minimum (torque is never negative)
            value = base + float(self._rng.normal(0.0, signal.normal.sd))
            if signal.redraw_below is None or value >= signal.redraw_below:
                return value

    def _chance_modes(self, values: Mapping[str, float | str]) -> set[str]:
        """Counters that end their life (failing with their chance), then a failure at random."""
        modes = set()
        for counter in self._sim.counters:
            step = _limit(counter.step, values)
            value = self._counters[counter.field]
            if value >= self._lives[counter.field] or value + step > counter.life[1]:
                if counter.fails is not None and self._rng.random() < counter.fails.share:
                    modes.add(counter.fails.mode)
                self._counters[counter.field] = 0.0
                self._lives[counter.field] = self._draw_life(counter.life)
            else:
                self._counters[counter.field] = value + step
        chance = self._sim.random_failure
        if chance is not None and self._rng.random() < chance.share:
            modes.add(chance.mode)
        return modes

    def _draw_life(self, life: tuple[int, int]) -> int:
        return int(self._rng.integers(life[0], life[1] + 1))


def _rounded(value: float, decimals: int) -> float:
    return float(round(value)) if decimals == 0 else round(value, decimals)


def _checked_categories(profile: Profile, fixed: dict[str, str]) -> dict[str, str]:
    for name, value in fixed.items():
        field = next((f for f in profile.category_fields if f.name == name), None)
        if field is None:
            known = ", ".join(f.name for f in profile.category_fields) or "none"
            raise SimulationError(f"{name!r} is not a category of profile {profile.id} (categories: {known})")
        if value not in field.values:
            raise SimulationError(f"{name} {value!r} must be one of {', '.join(field.values)}")
    return fixed
