"""Counters the worker logs periodically: received, scored, rejected, published, lag."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contract import parse_ts


@dataclass
class WorkerMetrics:
    received: int = 0
    scored: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    published: int = 0
    publish_refused: int = 0
    alerts: int = 0
    batches: int = 0
    batch_max: int = 0
    lag_ms_max: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_batch(self, size: int, scored: int, rejected: list[str], alerts: int, newest_ts: str | None) -> None:
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
                f" refused={self.publish_refused} alerts={self.alerts} batches={self.batches}"
                f" mean_batch={mean_batch:.1f} max_batch={self.batch_max} max_lag_ms={self.lag_ms_max:.0f}"
            )
            self.batch_max, self.lag_ms_max = 0, 0.0
            return line
