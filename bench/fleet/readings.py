"""What the simulated sensors send: realistic readings from the AI4I simulator, one per second.

Each machine is its own seeded :class:`publisher.simulation.Simulator`, so a fleet's values
look like the dataset's (and some readings carry failures, so alerts open and clear as in
service). When machine profiles land, this is the one place to swap in the profile's simulator.

Timestamps come from the wall clock (``time.time()``): the same clock on every process of the
machine, so whoever receives a reading, a prediction or an event can time it from its ``ts``.
"""

from __future__ import annotations

import calendar
import json
import time

import numpy as np

from publisher.simulation import Simulator

__all__ = ["SimulatedMachine", "TimestampCache", "ts_text_to_ms"]


class TimestampCache:
    """RFC 3339 UTC text with milliseconds for a wall-clock time, formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def text(self, now: float) -> str:
        whole = int(now)
        if whole != self._second:
            self._second = whole
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        return f"{self._prefix}.{int((now - whole) * 1000):03d}Z"


class _SecondsCache:
    """Epoch seconds of "YYYY-MM-DDTHH:MM:SS" prefixes; a stream of events shares few of them."""

    def __init__(self) -> None:
        self._known: dict[bytes, int] = {}

    def seconds(self, prefix: bytes) -> int:
        found = self._known.get(prefix)
        if found is None:
            if len(self._known) > 10_000:
                self._known.clear()
            found = self._known[prefix] = calendar.timegm(time.strptime(prefix.decode(), "%Y-%m-%dT%H:%M:%S"))
        return found


_SECONDS = _SecondsCache()


def ts_text_to_ms(text: bytes) -> int:
    """Epoch milliseconds of a ``YYYY-MM-DDTHH:MM:SS.mmmZ`` timestamp (the contract's format)."""
    return _SECONDS.seconds(text[:19]) * 1000 + int(text[20:23])


class SimulatedMachine:
    """One machine of the fleet: its id, a simulated run of its readings and its reading ids.

    The simulator costs ~50 us a reading, which at thousands of readings per second would make
    the load generator the bottleneck it must not be; so each machine simulates `length`
    readings when it is created (outside the measured windows) and then replays them in a loop
    with fresh reading ids and timestamps, a realistic stream at ~1 us a reading. The loop is
    like a tool change: the wear drops back and the sequence starts again.
    """

    def __init__(self, machine_id: str, seed: int, run: str, length: int = 100) -> None:
        self.machine_id = machine_id
        simulator = Simulator(np.random.default_rng(seed))
        self._bodies = [_values_json(simulator.step().to_reading("", "").to_json()) for _ in range(length)]
        self._prefix = b'{"reading_id":"' + f"{machine_id}-{run}-".encode()
        self._sequence = 0

    def payload(self, ts: str) -> bytes:
        """The next reading as the JSON a sensor publishes (the contract's Reading)."""
        self._sequence += 1
        body = self._bodies[self._sequence % len(self._bodies)]
        return b"".join((self._prefix, str(self._sequence).encode(), b'","ts":"', ts.encode(), b'",', body))


def _values_json(reading: bytes) -> bytes:
    """A reading's JSON without its id and timestamp: the members after them, closing brace included."""
    values = json.loads(reading)
    del values["reading_id"], values["ts"]
    return json.dumps(values, separators=(",", ":")).encode()[1:]
