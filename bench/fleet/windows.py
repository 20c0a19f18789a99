"""Attributing timed events to the bench's steps, in the processes that receive them.

A step is a window of wall-clock time: readings stamped (``ts``) from its send_start on, until
the next step's, belong to it (a load generator behind schedule stamps some after send_end),
and those within [measure_start, measure_end) are timed. Steps never overlap (the load stops
between them), so an event's reading time alone says which step it is.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

__all__ = ["StepTally", "Tallies"]


@dataclass
class StepTally:
    """What one receiver saw of one step: how many events, and the latencies of the timed ones."""

    send_start_ms: int
    measure_start_ms: int
    measure_end_ms: int
    send_end_ms: int
    count: int = 0
    latency_ms: array[float] = field(default_factory=lambda: array("f"))

    def add(self, ts_ms: int, arrived_ms: float) -> None:
        self.count += 1
        if self.measure_start_ms <= ts_ms < self.measure_end_ms:
            self.latency_ms.append(arrived_ms - ts_ms)


class Tallies:
    """The steps one receiver knows about; events are attributed by their reading time."""

    def __init__(self) -> None:
        self._steps: dict[int, StepTally] = {}
        self._current: StepTally | None = None
        self.outside = 0  # events that belong to no known step (e.g. before the first one)

    def begin(self, step: int, send_start: float, measure_start: float, measure_end: float, send_end: float) -> None:
        tally = StepTally(
            round(send_start * 1000), round(measure_start * 1000), round(measure_end * 1000), round(send_end * 1000)
        )
        self._steps[step] = tally
        self._current = tally

    def add(self, ts_ms: int, arrived_ms: float) -> None:
        current = self._current
        if current is not None and current.send_start_ms <= ts_ms:
            current.add(ts_ms, arrived_ms)
            return
        # a late event of an earlier step: the latest one that had started when it was stamped
        started = [tally for tally in self._steps.values() if tally.send_start_ms <= ts_ms]
        if started:
            max(started, key=lambda tally: tally.send_start_ms).add(ts_ms, arrived_ms)
            return
        self.outside += 1

    def count(self, step: int) -> int:
        """Events of the step seen so far."""
        tally = self._steps.get(step)
        return tally.count if tally is not None else 0

    def take(self, step: int) -> StepTally | None:
        """The step's tally, forgotten afterwards (what arrives later for it counts nowhere)."""
        tally = self._steps.pop(step, None)
        if tally is self._current:
            self._current = None
        return tally
