"""Counters the worker logs periodically (received, scored, rejected, published, lag), and a
sampler that keeps repeated log lines (a flood of rejections) to one per key and interval."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contract import parse_ts

_MAX_SAMPLED_KEYS = 10_000


@dataclass
class WorkerMetrics:
    received: int = 0
    scored: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    published: int = 0
    publish_refused: int = 0
    alerts: int = 0
    shadow: int = 0  # challengers' predictions (scored in shadow, never alerting)
    batches: int = 0
    batch_max: int = 0
    lag_ms_max: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_batch(self, size: int, scored: int, rejected: Counter[str], alerts: int, newest_ts: str | None) -> None:
        with self._lock:
            self.batches += 1
            self.batch_max = max(self.batch_max, size)
            self.scored += scored
            self.rejected.update(rejected)
            self.alerts += alerts
            if newest_ts:
                lag = (datetime.now(UTC) - parse_ts(newest_ts)).total_seconds() * 1000
                self.lag_ms_max = max(self.lag_ms_max, lag)

    def summary_and_reset_window(self) -> str:
        """One log line; the batch and lag maxima restart for the next window."""
        with self._lock:
            mean_batch = self.scored / self.batches if self.batches else 0.0
            line = (
                f"received={self.received} scored={self.scored} rejected={sum(self.rejected.values())}"
                f" {dict(self.rejected) if self.rejected else ''} published={self.published}"
                f" refused={self.publish_refused} alerts={self.alerts} shadow={self.shadow} batches={self.batches}"
                f" mean_batch={mean_batch:.1f} max_batch={self.batch_max} max_lag_ms={self.lag_ms_max:.0f}"
            )
            self.batch_max, self.lag_ms_max = 0, 0.0
            return line


class LogSampler:
    """At most one log line per key every `every_s` seconds; the line says how many it stands for.

    Pure: the caller passes the time. The first occurrence of a key is logged at once.
    """

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._logged_at: dict[Hashable, float] = {}
        self._pending: Counter[Hashable] = Counter()

    def add(self, key: Hashable, count: int, now: float) -> int:
        """Count `count` occurrences; returns how many to log now (0: stay quiet)."""
        self._pending[key] += count
        if now - self._logged_at.get(key, float("-inf")) < self.every_s:
            return 0
        if len(self._logged_at) >= _MAX_SAMPLED_KEYS:
            self._logged_at = {k: at for k, at in self._logged_at.items() if now - at < self.every_s}
            self._pending = Counter({k: n for k, n in self._pending.items() if k in self._logged_at or k == key})
        self._logged_at[key] = now
        return self._pending.pop(key)
