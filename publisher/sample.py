"""One observation of a machine, before it gets an id and a timestamp and becomes a Reading."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from contract import Reading

__all__ = ["FAILURE_MODES", "NO_FAILURE", "Sample", "describe_modes", "reading_id"]

# The AI4I 2020 failure modes, in the order the dataset lists them when several occur.
FAILURE_MODES: dict[str, str] = {
    "TWF": "Tool Wear Failure",
    "HDF": "Heat Dissipation Failure",
    "PWF": "Power Failure",
    "OSF": "Overstrain Failure",
    "RNF": "Random Failure",
}
NO_FAILURE = "No Failure"


@dataclass(frozen=True, slots=True)
class Sample:
    """Sensor values of one machining step, as the replay file or the simulator gives them."""

    type: str
    air_temp_k: float
    process_temp_k: float
    rotational_speed_rpm: float
    torque_nm: float
    tool_wear_min: float
    product_id: str | None = None
    failure: int | None = None
    failure_description: str | None = None

    def to_reading(self, reading_id: str, ts: str) -> Reading:
        """The contract payload for this sample."""
        values = {name: getattr(self, name) for name in _SAMPLE_FIELDS}
        return Reading(reading_id=reading_id, ts=ts, **values)  # type checked by contract.parse_reading


_SAMPLE_FIELDS = tuple(item.name for item in fields(Sample))  # a Reading's fields but its id and ts


def describe_modes(modes: Iterable[str]) -> str:
    """'No Failure' or the modes' names joined by '; ' in the dataset's order."""
    present = set(modes)
    names = [name for code, name in FAILURE_MODES.items() if code in present]
    return "; ".join(names) if names else NO_FAILURE


def reading_id(machine_id: str, run_id: int, sequence: int) -> str:
    """Unique per machine: the run id never repeats (the outbox remembers it) and sequence grows."""
    return f"{machine_id}-{run_id}-{sequence:06d}"
