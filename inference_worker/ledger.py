"""At-least-once bookkeeping: acknowledge a reading only after its outputs are confirmed.

A batch's inputs are acknowledged to the broker once the broker has confirmed (PUBACK)
every prediction, alert and rejection the batch produced; batches are acknowledged in
arrival order. Confirmations can arrive before the batch is registered (the network
thread is fast), so they wait in `_early` for a short while.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

EARLY_TTL_S = 30.0


@dataclass
class _Batch:
    inputs: list[tuple[int, int]]  # (mid, qos) of the readings
    pending: set[int] = field(default_factory=set)  # output mids not yet confirmed


class AckLedger:
    """Thread-safe, though the worker now calls it from its one loop thread only."""

    def __init__(self, ack: Callable[[int, int], object]) -> None:
        self._ack = ack
        self._lock = threading.Lock()
        self._batches: deque[_Batch] = deque()
        self._by_mid: dict[int, _Batch] = {}
        self._early: dict[int, float] = {}
        self._ignored: set[int] = set()
        self.acked = 0

    def ignore(self, mid: int) -> None:
        """A publish outside any batch (a status): its confirmation must not linger."""
        with self._lock:
            if self._early.pop(mid, None) is None:
                self._ignored.add(mid)

    def register(self, inputs: list[tuple[int, int]], output_mids: list[int]) -> None:
        with self._lock:
            batch = _Batch(inputs)
            for mid in output_mids:
                if self._early.pop(mid, None) is None:
                    batch.pending.add(mid)
                    self._by_mid[mid] = batch
            self._batches.append(batch)
            ready = self._pop_ready()
        self._ack_all(ready)

    def confirmed(self, mid: int) -> None:
        with self._lock:
            batch = self._by_mid.pop(mid, None)
            if batch is None:
                if mid in self._ignored:
                    self._ignored.discard(mid)
                else:
                    self._remember_early(mid)
                return
            batch.pending.discard(mid)
            ready = self._pop_ready()
        self._ack_all(ready)

    def _remember_early(self, mid: int) -> None:
        now = time.monotonic()
        self._early[mid] = now
        if len(self._early) > 10_000:
            self._early = {m: t for m, t in self._early.items() if now - t < EARLY_TTL_S}

    def _pop_ready(self) -> list[tuple[int, int]]:
        ready: list[tuple[int, int]] = []
        while self._batches and not self._batches[0].pending:
            ready.extend(self._batches.popleft().inputs)
        return ready

    def _ack_all(self, inputs: list[tuple[int, int]]) -> None:
        for mid, qos in inputs:
            if qos > 0:
                self._ack(mid, qos)
        self.acked += len(inputs)

    @property
    def unconfirmed_batches(self) -> int:
        with self._lock:
            return len(self._batches)

    def reset(self) -> None:
        """Forget everything after a reconnect: the broker redelivers what was not acked."""
        with self._lock:
            self._batches.clear()
            self._by_mid.clear()
            self._early.clear()
            self._ignored.clear()
