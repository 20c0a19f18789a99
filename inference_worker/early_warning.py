"""Early warning for the wear-driven failure modes (tool wear, overstrain); no I/O.

From a machine's recent readings it estimates how many minutes of tool use remain
before the tool enters a failure region:

- tool wear (TWF): the tool is replaced or fails from 200 min of wear;
- overstrain (OSF): wear x torque passes the type's limit; "at the current torque"
  means the torque this machine reaches often (90th percentile of its recent readings),
  since a single high-torque piece is what overstrains a worn tool.

A warning is raised when fewer than `horizon_min` minutes remain, which is before the
model's probability crosses its threshold (the model only sees the region itself).
A drop in tool wear means the tool was replaced: the machine's history starts again.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from contract import Reading

TOOL_WEAR_REGION_MIN = 200.0
OVERSTRAIN_LIMITS = {"L": 11_000.0, "M": 12_000.0, "H": 13_000.0}
TORQUE_QUANTILE = 90


@dataclass(frozen=True)
class WearForecast:
    """Minutes of tool use left before the nearest wear-driven failure region."""

    mode: str  # "TWF" or "OSF"
    remaining_min: float
    tool_wear_min: float

    def describe(self) -> str:
        region = "tool-wear failure region (200 min)" if self.mode == "TWF" else "overstrain limit"
        if self.remaining_min <= 0:
            return f"tool wear {self.tool_wear_min:.0f} min: inside the {region}"
        left = f"about {self.remaining_min:.0f} min of tool use left"
        return f"tool wear {self.tool_wear_min:.0f} min: {left} before the {region}"


@dataclass
class _Tool:
    torques: deque[float] = field(default_factory=lambda: deque(maxlen=50))
    last_wear: float = -1.0


class WearForecaster:
    """Per-machine tool history and the resulting forecast."""

    def __init__(self, horizon_min: float = 15.0, min_readings: int = 5) -> None:
        self.horizon_min = horizon_min
        self.min_readings = min_readings
        self._tools: dict[str, _Tool] = {}

    def update(self, machine_id: str, reading: Reading) -> WearForecast | None:
        """Record the reading; return a forecast when a failure region is near."""
        tool = self._tools.setdefault(machine_id, _Tool())
        if reading.tool_wear_min < tool.last_wear:
            tool.torques.clear()  # tool replaced
        tool.last_wear = reading.tool_wear_min
        tool.torques.append(reading.torque_nm)
        forecast = self.forecast(tool, reading)
        return forecast if forecast.remaining_min <= self.horizon_min else None

    def forecast(self, tool: _Tool, reading: Reading) -> WearForecast:
        wear = reading.tool_wear_min
        to_tool_wear = TOOL_WEAR_REGION_MIN - wear
        if len(tool.torques) < self.min_readings:
            return WearForecast("TWF", to_tool_wear, wear)
        torque = percentile(tool.torques, TORQUE_QUANTILE)
        to_overstrain = OVERSTRAIN_LIMITS[reading.type] / max(torque, 1.0) - wear
        if to_overstrain < to_tool_wear:
            return WearForecast("OSF", to_overstrain, wear)
        return WearForecast("TWF", to_tool_wear, wear)


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
