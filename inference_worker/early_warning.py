"""Early warning for counters approaching a limit (tool wear, overstrain); no I/O.

The profile's ``physics.early_warning`` lists the limits a counter runs into; from a
machine's recent readings the forecaster estimates how much of the counter remains before
the nearest one (for the AI4I milling machine, minutes of tool use):

- a plain limit (tool wear reaching 200 min): remaining = limit - counter;
- a limit on counter x a quantity (wear x torque passing the type's overstrain limit):
  remaining = limit / (recent percentile of the quantity) - counter, "at the current torque"
  meaning the torque this machine reaches often (90th percentile of its recent readings),
  since a single high-torque piece is what overstrains a worn tool. It is trusted only after
  `min_readings` readings since the last reset.

A warning is raised when no more than `horizon` remains, which is before the model's
probability crosses its threshold (the model only sees the region itself). A drop in a
counter means it was reset (the tool was replaced): the machine's history starts again.
The first limit with the least remaining is the one reported.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from contract import Profile, Reading, default_profile
from contract.profiles import CounterField, CounterLimit, EarlyWarning, PerCategory

__all__ = ["CounterForecaster", "Forecast", "percentile"]


@dataclass(frozen=True)
class Forecast:
    """How much of a counter remains before the nearest limit."""

    mode: str
    remaining: float
    value: float  # the counter now
    counter: str
    label: str
    unit: str
    usage: str
    region: str
    decimals: int = 0

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        now = f"{self.label} {self.value:.{self.decimals}f}{unit}"
        if self.remaining <= 0:
            return f"{now}: inside the {self.region}"
        left = f"about {self.remaining:.{self.decimals}f}{unit} of {self.usage} left"
        return f"{now}: {left} before the {self.region}"

    def as_dict(self) -> dict[str, object]:
        """The explanation's `early_warning` object."""
        return {
            "mode": self.mode,
            "counter": self.counter,
            "remaining": round(self.remaining, 1),
            "unit": self.unit,
            "text": self.describe(),
        }


@dataclass
class _Machine:
    recent: dict[str, deque[float]] = field(default_factory=dict)  # per-quantity recent values
    last: dict[str, float] = field(default_factory=dict)  # each counter's last value


@dataclass(frozen=True)
class _Limit:
    item: CounterLimit
    counter: CounterField
    fixed: float | None  # the limit, when it is one number
    by: str | None  # else the category it depends on...
    table: dict[str, float]  # ...and its value per category


@dataclass(frozen=True)
class _Plan:
    """A profile's early warning, prepared once: the worker runs it on every reading."""

    settings: EarlyWarning
    limits: tuple[_Limit, ...]
    counters: tuple[str, ...]
    resets: tuple[tuple[str, str], ...]  # (counter, quantity): a drop of the counter clears the quantity's history
    recent: tuple[str, ...]  # the quantities whose recent values are kept

    @classmethod
    def of(cls, profile: Profile) -> _Plan | None:
        settings = profile.physics.early_warning if profile.physics else None
        if settings is None:
            return None
        limits = tuple(_prepared(profile, item) for item in settings.limits)
        pairs = {(item.counter, item.per.field) for item in settings.limits if item.per is not None}
        return cls(
            settings=settings,
            limits=limits,
            counters=tuple(dict.fromkeys(item.counter for item in settings.limits)),
            resets=tuple(sorted(pairs)),
            recent=tuple(sorted({field for _, field in pairs})),
        )


def _prepared(profile: Profile, item: CounterLimit) -> _Limit:
    counter = profile.field(item.counter)
    assert isinstance(counter, CounterField)
    if isinstance(item.limit, PerCategory):
        return _Limit(item, counter, None, item.limit.by, dict(item.limit.values))
    return _Limit(item, counter, float(item.limit), None, {})


def _plan(profile: Profile) -> _Plan | None:
    plan: _Plan | None = profile.cached("early_warning", _Plan.of)
    return plan


class CounterForecaster:
    """Per-machine counter history and the resulting forecast, for any profile."""

    def __init__(self, horizon: float | None = None, min_readings: int | None = None) -> None:
        """`horizon` and `min_readings` override the profile's (tests, benchmarks)."""
        self.horizon = horizon
        self.min_readings = min_readings
        self._machines: dict[str, _Machine] = {}

    def update(self, machine_id: str, reading: Reading, profile: Profile | None = None) -> Forecast | None:
        """Record the reading; return a forecast when a limit is near."""
        plan = _plan(profile or default_profile())
        if plan is None:
            return None
        machine = self._machines.get(machine_id)
        if machine is None:
            machine = self._machines[machine_id] = _Machine()
        self._record(machine, reading.values, plan)
        nearest = self._nearest(machine, reading.values, plan)
        if nearest is None:
            return None
        remaining, limit, value = nearest
        horizon = plan.settings.horizon if self.horizon is None else self.horizon
        return _forecast(remaining, limit, value) if remaining <= horizon else None

    @staticmethod
    def _record(machine: _Machine, values: dict[str, float | str], plan: _Plan) -> None:
        last, recent = machine.last, machine.recent
        for counter, quantity in plan.resets:
            value = values.get(counter)
            if value is not None and value < last.get(counter, -math.inf):  # type: ignore[operator]
                recent.pop(quantity, None)  # reset (tool replaced)
        for counter in plan.counters:
            value = values.get(counter)
            if value is not None:
                last[counter] = value  # type: ignore[assignment]
        for quantity in plan.recent:
            value = values.get(quantity)
            if value is not None:
                history = recent.get(quantity)
                if history is None:
                    history = recent[quantity] = deque(maxlen=plan.settings.window)
                history.append(value)  # type: ignore[arg-type]

    def _nearest(
        self, machine: _Machine, values: dict[str, float | str], plan: _Plan
    ) -> tuple[float, _Limit, float] | None:
        """The first limit with the least remaining (limits on a recent percentile need enough history)."""
        best: tuple[float, _Limit, float] | None = None
        enough = plan.settings.min_readings if self.min_readings is None else self.min_readings
        for limit in plan.limits:
            counter = values.get(limit.item.counter)
            bound = limit.fixed if limit.by is None else limit.table.get(values.get(limit.by))  # type: ignore[arg-type]
            if counter is None or bound is None:
                continue
            per = limit.item.per
            if per is None:
                remaining = bound - counter  # type: ignore[operator]
            else:
                recent = machine.recent.get(per.field, ())
                if len(recent) < enough:
                    continue
                remaining = bound / max(percentile(recent, per.quantile), per.floor) - counter  # type: ignore[operator]
            if best is None or remaining < best[0]:
                best = (remaining, limit, counter)  # type: ignore[assignment]
        return best


def _forecast(remaining: float, limit: _Limit, value: float) -> Forecast:
    counter = limit.counter
    return Forecast(
        mode=limit.item.mode,
        remaining=remaining,
        value=value,
        counter=counter.name,
        label=counter.label,
        unit=counter.unit,
        usage=counter.usage,
        region=limit.item.region,
        decimals=counter.decimals,
    )


def percentile(values: Iterable[float], q: float) -> float:
    """numpy.percentile(values, q) (its default 'linear' method), to the same bit.

    In plain Python because numpy's call costs ~50 us whatever the size, for the 50
    values here: it was a quarter of the worker's time, since every reading needs one.
    """
    ordered = sorted(values)
    index = (len(ordered) - 1) * (q / 100)
    below = min(math.floor(index), len(ordered) - 1)
    above = min(below + 1, len(ordered) - 1)
    a, b = ordered[below], ordered[above]
    gamma = index - below
    diff = b - a
    # numpy's _lerp: the form that is exact at the nearer end of the interval.
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma
