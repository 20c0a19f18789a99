"""Pure arithmetic of the fleet bench: latency summaries, backlog trend, the SLO verdict.

No I/O, no clock: everything here is computed from what the processes reported, so it is
tested on its own (tests/unit/test_bench_fleet.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Slo", "backlog_growth", "coverage", "cpu_per_reading", "largest_held", "latency_summary", "verdict"]

HOPS = ("broker", "prediction", "stored", "stream")


@dataclass(frozen=True)
class Slo:
    """The service-level objective a step must hold, and the bench's own validity limits."""

    max_lost: int = 0
    stored_p99_ms: float = 1000.0
    stream_p99_ms: float = 1000.0
    # a backlog that grows by more than this many seconds of the offered load across the window
    backlog_growth_s: float = 0.5
    # below this share of the timed readings seen, a hop's p99 cannot be known: it is later than the lookback
    min_coverage: float = 0.99
    # the load generator must publish on time, or the step measures the bench, not the stack
    max_slip_p99_ms: float = 250.0


def latency_summary(parts: Iterable[Sequence[float]], expected: int | None = None) -> dict[str, Any]:
    """p50 / p99 / max (ms) of the latencies of several receivers together, and their coverage."""
    arrays = [np.asarray(part, dtype=np.float64) for part in parts if len(part)]
    values = np.concatenate(arrays) if arrays else np.empty(0)
    summary: dict[str, Any] = {"n": int(values.size), "p50": None, "p99": None, "max": None}
    if values.size:
        p50, p99 = np.percentile(values, [50, 99])
        summary |= {"p50": round(float(p50), 1), "p99": round(float(p99), 1), "max": round(float(values.max()), 1)}
    summary["coverage"] = coverage(int(values.size), expected)
    return summary


def coverage(seen: int, expected: int | None) -> float | None:
    """The share of the expected timed readings that were seen (None when nothing was expected)."""
    if not expected:
        return None
    return round(min(seen / expected, 1.0), 4)


def backlog_growth(samples: Sequence[tuple[float, float]]) -> float:
    """How much the backlog grew across the samples' span, by its least-squares trend.

    `samples` are (seconds, readings in flight); a steady backlog gives ~0 however noisy,
    a growing one its slope times the span.
    """
    if len(samples) < 3:
        return 0.0
    times = np.array([t for t, _ in samples], dtype=np.float64)
    backlog = np.array([b for _, b in samples], dtype=np.float64)
    if np.ptp(times) <= 0:
        return 0.0
    slope = float(np.polyfit(times - times[0], backlog, 1)[0])
    return round(slope * float(np.ptp(times)), 1)


def verdict(step: dict[str, Any], slo: Slo) -> tuple[bool, bool, list[str]]:
    """(held, valid, reasons): did the step hold the SLO, could the bench measure it, and why not."""
    invalid: list[str] = []
    failed: list[str] = []
    slip = step["loadgen"]["slip"].get("p99")
    if slip is not None and slip > slo.max_slip_p99_ms:
        invalid.append(f"load generator behind schedule (slip p99 {slip:.0f} ms)")
    if step["sensors"] < step["machines"]:
        invalid.append(f"only {step['sensors']} of {step['machines']} sensors connected")
    lost = step["lost"]
    if lost > slo.max_lost:
        failed.append(f"{lost} readings lost")
    if step["rejected"]:
        failed.append(f"{step['rejected']} readings rejected")
    for hop, limit in (("stored", slo.stored_p99_ms), ("stream", slo.stream_p99_ms)):
        failed += _hop_failures(hop, step["hops"][hop], limit, slo.min_coverage)
    missed = step["stream"]["missed"]
    if missed:
        failed.append(f"a dashboard missed {missed} events ({step['stream']['resyncs']} resyncs)")
    growth = step["backlog"]["growth"]
    if growth > max(slo.backlog_growth_s * step["machines"], 10):
        failed.append(f"backlog grew by {growth:.0f} readings over the window")
    return not failed and not invalid, not invalid, invalid + failed


def _hop_failures(hop: str, summary: dict[str, Any], limit: float, min_coverage: float) -> list[str]:
    seen = summary.get("coverage")
    if seen is not None and seen < min_coverage:
        return [f"sensor->{hop}: only {seen:.1%} of the timed readings arrived in time to be timed"]
    p99 = summary.get("p99")
    if p99 is None:
        return [f"sensor->{hop}: nothing timed"]
    if p99 > limit:
        return [f"p99 sensor->{hop} {p99:.0f} ms > {limit:.0f} ms"]
    return []


# Roles whose work follows the readings published (the rest: the readings stored).
PUBLISHING_ROLES = ("loadgen", "broker")


def cpu_per_reading(cpu_pct: dict[str, float], seconds: float, done: dict[str, int]) -> dict[str, float | None]:
    """CPU ms per reading of each role over the window: the load generator and the broker per
    reading published in it, the others per reading stored in it. (Per reading *stamped* in the
    window would undercount a stack that falls behind: its backlog is worked off after.)"""
    out: dict[str, float | None] = {}
    for role, pct in cpu_pct.items():
        count = done["published"] if role in PUBLISHING_ROLES else done["stored"]
        out[role] = round(10 * pct * seconds / count, 3) if count > 0 else None
    return out


def largest_held(steps: Sequence[dict[str, Any]]) -> int | None:
    """The largest fleet of the ramp's steps that held, before the first one that did not."""
    best = None
    for step in steps:
        if not step["slo"]["held"]:
            break
        best = step["machines"]
    return best
