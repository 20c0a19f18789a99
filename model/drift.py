"""Data drift: how far recent readings are from what the model was trained on (no I/O).

The model card keeps, per sensor, the decile edges of the training rows; recent readings
are binned on the same edges and compared with the population stability index
PSI = sum((actual - expected) * ln(actual / expected)). Usual reading of PSI: below 0.1
stable, 0.1 to 0.25 moderate shift, above 0.25 significant shift (retrain or check sensors).

Like is compared with like, so data drawn from the training distribution raises no alarm:

- **Enough readings.** A sample of a hundred readings of a steady sensor already scores a
  PSI of 0.3 now and then by chance; nothing is judged on fewer than MIN_READINGS.
- **A window as long as the sensor's natural cycle.** A slowly cycling sensor (the AI4I
  temperatures wander over thousands of readings) seen through a short recent window is one
  phase of its cycle, not its training distribution: a window of 1,000 consecutive training
  rows scores a PSI of up to 6. So the card also keeps, per sensor, its `window`: the fewest
  consecutive training rows whose every window scores below the moderate level (0.1), found
  by sliding windows of 100, 200, 400, ... rows over the time-ordered training rows. A sensor
  is judged on at least that many of its latest readings; with fewer it is not judged yet.
  When that window is more than half the training rows, the training data holds less than
  two of the sensor's cycles and no recent window can be compared with it like with like
  (one machine may only ever see part of the cycle): `window` is None and only the range
  test below applies to that sensor.
- **Out of range is drift at once.** Whatever the window, when at least OUT_OF_RANGE_SHARE
  of the latest MIN_READINGS readings lie outside the range the training rows covered (the
  card's `min` and `max`), the sensor is significant: the model never saw such values.

Recent values are given newest first (as the API reads them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "MIN_READINGS",
    "assess",
    "drift_report",
    "pending_entry",
    "pending_report",
    "psi",
    "readings_needed",
    "reference_distribution",
]

_BINS = 10
_FLOOR = 1e-4  # an empty bin would make the logarithm infinite
MODERATE, SIGNIFICANT = 0.1, 0.25
MIN_READINGS = 100  # fewer readings than this say nothing (PSI's sampling noise alone reaches 0.3)
OUT_OF_RANGE_SHARE = 0.05  # of the latest MIN_READINGS readings, outside the training range: significant
_FIRST_WINDOW = 100


def reference_distribution(columns: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Per sensor (stored in the card): decile edges and bin shares of the training rows, their
    range, and the window of readings needed to compare like with like (rows in time order)."""
    reference = {}
    for name in columns:
        values = np.asarray(columns[name], dtype=float)
        edges = np.unique(np.quantile(values, np.linspace(0, 1, _BINS + 1)[1:-1]))
        shares = _shares(values, edges)
        reference[name] = {
            "edges": edges.round(4).tolist(),
            "shares": shares.round(6).tolist(),
            "min": float(values.min()),
            "max": float(values.max()),
            "window": natural_window(values, edges, shares),
        }
    return reference


def natural_window(values: np.ndarray, edges: np.ndarray, shares: np.ndarray) -> int | None:
    """The fewest consecutive rows (100, 200, 400, ...) whose every window scores below MODERATE;
    None when that takes more than half the rows (fewer than two cycles in the data)."""
    size = _FIRST_WINDOW
    while size <= len(values) // 2:
        step = max(size // 10, 1)
        starts = _starts(len(values), size, step)
        worst = max(psi(shares, _shares(values[start : start + size], edges)) for start in starts)
        if worst < MODERATE:
            return size
        size *= 2
    return None


def _starts(length: int, size: int, step: int) -> range:
    return range(0, length - size + 1, step)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected, actual = np.maximum(expected, _FLOOR), np.maximum(actual, _FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def readings_needed(reference: Mapping[str, Any], window: int) -> int:
    """How many recent readings to fetch so every sensor can be judged: `window` or more."""
    windows = [_field_window(spec) or 0 for spec in reference.values() if isinstance(spec, Mapping)]
    return max([window, MIN_READINGS, *windows])


def _field_window(spec: Mapping[str, Any]) -> int | None:
    """The sensor's window; None: range only. A card from before windows: MIN_READINGS."""
    if "window" not in spec:
        return MIN_READINGS
    window = spec["window"]
    return max(int(window), MIN_READINGS) if isinstance(window, int | float) and window > 0 else None


def assess(reference: Mapping[str, Any], recent: Mapping[str, np.ndarray], window: int = 0) -> list[dict[str, Any]]:
    """Per sensor of the reference: its PSI and level over max(window, its own window) latest
    readings; or level `pending` (fewer readings than that; `needed` None: judged on its range
    only, and in range), with `why`."""
    report = []
    for name in reference:  # the card's sensors
        if not isinstance(reference[name], Mapping) or len(recent.get(name, ())) == 0:
            continue
        report.append(_assess_field(name, reference[name], np.asarray(recent[name], dtype=float), window))
    return report


def _assess_field(name: str, spec: Mapping[str, Any], values: np.ndarray, window: int) -> dict[str, Any]:
    own = _field_window(spec)
    needed = None if own is None else max(window, own)
    compared = values[: needed or max(window, MIN_READINGS)]  # newest first
    outside = _outside_share(spec, values[:MIN_READINGS])
    value = psi(np.asarray(spec["shares"], dtype=float), _shares(compared, np.asarray(spec["edges"], dtype=float)))
    entry: dict[str, Any] = {
        "feature": name,
        "psi": round(value, 4),
        "readings": len(compared),
        "needed": needed,
        "outside": round(outside, 4),
    }
    if len(values) >= MIN_READINGS and outside >= OUT_OF_RANGE_SHARE:
        return entry | {"level": "significant", "basis": "range"}
    if needed is None:
        why = "its cycle is longer than half the training data: judged on its range only, and in range"
        return entry | {"level": "pending", "basis": None, "why": why}
    if len(compared) < needed:
        return entry | {
            "level": "pending",
            "basis": None,
            "why": f"{len(compared):,} of the {needed:,} readings needed",
        }
    return entry | {"level": _level(value), "basis": "distribution"}


def _outside_share(spec: Mapping[str, Any], values: np.ndarray) -> float:
    low, high = spec.get("min"), spec.get("max")
    if not isinstance(low, int | float) or not isinstance(high, int | float) or len(values) == 0:
        return 0.0  # a card from before ranges were kept
    return float(np.mean((values < low) | (values > high)))


def drift_report(
    reference: Mapping[str, Any], recent: Mapping[str, np.ndarray], window: int = 0
) -> list[dict[str, Any]]:
    """The sensors that could be judged: PSI, level (stable/moderate/significant) and on what basis."""
    return [entry for entry in assess(reference, recent, window) if entry["level"] != "pending"]


def pending_report(
    reference: Mapping[str, Any], recent: Mapping[str, np.ndarray], window: int = 0
) -> list[dict[str, Any]]:
    """The sensors not judged: how many readings they have and need (None: range only), and why."""
    return [pending_entry(e) for e in assess(reference, recent, window) if e["level"] == "pending"]


def pending_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in ("feature", "readings", "needed", "why")}


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def _level(value: float) -> str:
    if value >= SIGNIFICANT:
        return "significant"
    return "moderate" if value >= MODERATE else "stable"
