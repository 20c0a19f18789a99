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


class CounterForecaster:
    """Per-machine counter history and the resulting forecast, for any profile."""

    def __init__(self, horizon: float | None = None, min_readings: int | None = None) -> None:
        """`horizon` and `min_readings` override the profile's (tests, benchmarks)."""
        self.horizon = horizon
        self.min_readings = min_readings
        self._machines: dict[str, _Machine] = {}

    def update(self, machine_id: str, reading: Reading, profile: Profile | None = None) -> Forecast | None:
        """Record the reading; return a forecast when a limit is near."""
        profile = profile or default_profile()
        settings = profile.physics.early_warning if profile.physics else None
        if settings is None:
            return None
        machine = self._machines.setdefault(machine_id, _Machine())
        self._record(machine, reading, settings)
        forecast = self.forecast(machine, reading, profile, settings)
        horizon = settings.horizon if self.horizon is None else self.horizon
        return forecast if forecast is not None and forecast.remaining <= horizon else None

    def _record(self, machine: _Machine, reading: Reading, settings: EarlyWarning) -> None:
        values = reading.values
        for item in settings.limits:
            counter = values.get(item.counter)
            if not isinstance(counter, float):
                continue
            if counter < machine.last.get(item.counter, -math.inf) and item.per is not None:
                machine.recent.pop(item.per.field, None)  # reset (tool replaced)
        for item in settings.limits:
            counter = values.get(item.counter)
            if isinstance(counter, float):
                machine.last[item.counter] = counter
        for name in {item.per.field for item in settings.limits if item.per is not None}:
            value = values.get(name)
            if isinstance(value, float):
                machine.recent.setdefault(name, deque(maxlen=settings.window)).append(value)

    def forecast(
        self, machine: _Machine, reading: Reading, profile: Profile, settings: EarlyWarning
    ) -> Forecast | None:
        """The first limit with the least remaining (limits on a recent percentile need enough history)."""
        best: tuple[float, CounterLimit, float] | None = None
        enough = settings.min_readings if self.min_readings is None else self.min_readings
        for item in settings.limits:
            counter = reading.values.get(item.counter)
            limit = _limit(item.limit, reading)
            if not isinstance(counter, float) or limit is None:
                continue
            if item.per is None:
                remaining = limit - counter
            else:
                recent = machine.recent.get(item.per.field, ())
                if len(recent) < enough:
                    continue
                remaining = limit / max(percentile(recent, item.per.quantile), item.per.floor) - counter
            if best is None or remaining < best[0]:
                best = (remaining, item, counter)
        return None if best is None else _forecast(profile, *best)


def _limit(limit: float | PerCategory, reading: Reading) -> float | None:
    if not isinstance(limit, PerCategory):
        return float(limit)
    category = reading.values.get(limit.by)
    return limit.values.get(category) if isinstance(category, str) else None


def _forecast(profile: Profile, remaining: float, item: CounterLimit, value: float) -> Forecast:
    counter = profile.field(item.counter)
    assert isinstance(counter, CounterField)
    return Forecast(
        mode=item.mode,
        remaining=remaining,
        value=value,
        counter=counter.name,
        label=counter.label,
        unit=counter.unit,
        usage=counter.usage,
        region=item.region,
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
