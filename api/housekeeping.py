"""Background chores: announce machines that fell silent, and prune old history.

One daemon thread ticks every second; the prune runs at the first tick and then every
`prune_interval_s`, deleting in small chunks so readers and the writer are never held up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["Housekeeper"]

log = logging.getLogger(__name__)

_TICK_S = 1.0


class Housekeeper:
    """Calls `sweep` every second and `prune` every `prune_interval_s`."""

    def __init__(self, sweep: Callable[[], None], prune: Callable[[], None], prune_interval_s: float) -> None:
        self._sweep = sweep
        self._prune = prune
        self._interval = prune_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="api-housekeeping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        next_prune = time.monotonic()
        while not self._stop.wait(_TICK_S):
            self._guarded(self._sweep, "offline sweep")
            if time.monotonic() >= next_prune:
                self._guarded(self._prune, "retention prune")
                next_prune = time.monotonic() + self._interval

    @staticmethod
    def _guarded(chore: Callable[[], None], name: str) -> None:
        try:
            chore()
        except Exception:
            # a failed chore (database briefly away) is retried at the next tick or interval
            log.exception("%s failed", name)
