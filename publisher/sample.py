"""One observation of a machine, before it gets an id and a timestamp and becomes a Reading."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from contract import Profile, Reading, default_profile

__all__ = ["Sample", "describe_modes", "reading_id"]


@dataclass(frozen=True, slots=True)
class Sample:
    """A machine's values (its profile's fields), as the replay file or the simulator gives them."""

    values: dict[str, float | str]
    failure: int | None = None
    failure_description: str | None = None

    def to_reading(self, reading_id: str, ts: str) -> Reading:
        """The contract payload for this sample (checked by its profile's parser before sending)."""
        return Reading(reading_id, ts, self.values, self.failure, self.failure_description)


def describe_modes(modes: Iterable[str], profile: Profile | None = None) -> str:
    """The profile's "no failure" label, or the modes' names joined by '; ' in the profile's order."""
    profile = profile or default_profile()
    present = set(modes)
    names = [mode.name for mode in profile.failure_modes if mode.code in present]
    return "; ".join(names) if names else profile.model.labels.no_failure


def reading_id(machine_id: str, run_id: int, sequence: int) -> str:
    """Unique per machine: the run id never repeats (the outbox remembers it) and sequence grows."""
    return f"{machine_id}-{run_id}-{sequence:06d}"
