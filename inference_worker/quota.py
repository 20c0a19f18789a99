"""A quota per sensor: a token bucket per machine, refilled at `rate` readings/s up to `burst`.

Pure: the caller passes the time (seconds on a monotonic clock). A reading over the quota is
refused; so that a flood does not turn into an equal flood of rejection messages, a refusal
is *reported* at most once per `report_every_s` per machine, carrying how many readings were
refused since the previous report. Every refusal is still counted by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Refusal", "SensorQuota"]

_MAX_TRACKED = 10_000  # machines; beyond it, buckets that are full again are forgotten


@dataclass(frozen=True, slots=True)
class Refusal:
    """A reading over the quota; `report` readings refused since the last report are due (0: none)."""

    report: int


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    refused: int = 0  # since the last report
    reported_at: float = float("-inf")


class SensorQuota:
    """`take(machine, now)`: None when the reading may go on, else a Refusal."""

    def __init__(self, rate: float, burst: int, report_every_s: float = 1.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a quota needs a rate above 0 and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self.report_every_s = report_every_s
        self._buckets: dict[str, _Bucket] = {}

    def take(self, machine_id: str, now: float) -> Refusal | None:
        bucket = self._buckets.get(machine_id)
        if bucket is None:
            bucket = self._buckets[machine_id] = _Bucket(float(self.burst), now)
            self._forget_full(now)
        bucket.tokens = min(float(self.burst), bucket.tokens + max(now - bucket.at, 0.0) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        bucket.refused += 1
        if now - bucket.reported_at < self.report_every_s:
            return Refusal(0)
        report, bucket.refused, bucket.reported_at = bucket.refused, 0, now
        return Refusal(report)

    def describe(self) -> str:
        return f"{self.rate:g} readings/s, bursts of {self.burst}"

    def _forget_full(self, now: float) -> None:
        if len(self._buckets) > _MAX_TRACKED:
            refill_s = self.burst / self.rate
            self._buckets = {
                machine: bucket
                for machine, bucket in self._buckets.items()
                if now - bucket.at < refill_s or bucket.refused
            }
