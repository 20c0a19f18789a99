"""Rolling window features over a machine's ordered readings: mean, slope, min, max.

A window is the last N readings of a field, or all of them since the machine's first
reading (``size: all`` in a profile; a machine whose order counter restarts begins a new
life). A window with a ``baseline`` of B reports its mean, min and max relative to the
mean of the machine's first B readings (its own normal level), which takes away the
spread between machines. One computation serves training and serving:

* training (:func:`history_features`): every row of one machine's ordered history at once;
* serving (:class:`MachineWindow`): a small per-machine state updated reading by reading.

Both reduce to the same inputs of :func:`window_features`: the right-aligned matrix of the
last N readings (oldest left, zeros before the first reading) and, for the whole-life
window and the baselines, running sums that both paths accumulate one reading at a time
in the same order.
Every step after that is element-wise IEEE arithmetic, sums run strictly left to right
(``add.accumulate``) and min/max are exact, so batch and incremental results are equal to
the bit, whatever the number of rows computed together (tests/unit/test_model_windows.py).

Over the ``k`` readings of a window (``k = min(count, N)``): mean = sum / k; slope = the
least-squares slope per reading (0 when k = 1); min; max.

numpy only: the worker imports this module.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ALL",
    "STATS",
    "MachineWindow",
    "Totals",
    "Window",
    "WindowSpec",
    "history_features",
    "window_features",
]

STATS = ("mean", "slope", "min", "max")
ALL = 0  # the size of the window over every reading since the first
_STATE_MAGIC = b"FWW3"
_STATE_HEADER = struct.Struct("<4sHHHQd")  # magic, fields, length, baselines, count, last order (NaN: none)


@dataclass(frozen=True)
class Window:
    """Statistics over the last `size` readings (ALL: every reading since the first).

    With a `baseline` B, mean, min and max are relative to the mean of the first B
    readings of the machine's life (of those so far, while it has fewer).
    """

    size: int
    stats: tuple[str, ...]
    baseline: int = 0

    def __post_init__(self) -> None:
        if self.size < 1 and self.size != ALL:
            raise ValueError(f"window size {self.size} must be at least 1 (or all)")
        unknown = [stat for stat in self.stats if stat not in STATS]
        if unknown or not self.stats or len(set(self.stats)) != len(self.stats):
            raise ValueError(f"window stats {list(self.stats)} must be distinct names from {', '.join(STATS)}")
        if self.baseline < 0:
            raise ValueError(f"window baseline {self.baseline} must be a number of readings (or 0: none)")

    @property
    def label(self) -> str:
        size = "_all" if self.size == ALL else str(self.size)
        return f"{size}_b{self.baseline}" if self.baseline else size

    @property
    def warmup(self) -> int:
        """Readings before the window (and its baseline) is complete."""
        return max(self.size, self.baseline, 1)


@dataclass(frozen=True)
class WindowSpec:
    """Which fields are windowed, and over which windows; names the features it produces."""

    fields: tuple[str, ...]
    windows: tuple[Window, ...]

    def __post_init__(self) -> None:
        if not self.fields or len(set(self.fields)) != len(self.fields):
            raise ValueError("a window spec needs distinct field names")
        if len({(w.size, w.baseline) for w in self.windows}) != len(self.windows):
            raise ValueError("windows must differ in size or baseline")

    @property
    def length(self) -> int:
        """Readings the state keeps: the longest finite window (1 when there is none)."""
        return max((w.size for w in self.windows), default=1) or 1

    @property
    def baselines(self) -> tuple[int, ...]:
        """The distinct baseline lengths the state keeps a sum for."""
        return tuple(sorted({w.baseline for w in self.windows if w.baseline}))

    @property
    def warmup(self) -> int:
        """Readings before every window is complete."""
        return max((w.warmup for w in self.windows), default=1)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """``<field>_<stat><size>`` (``_all`` for the whole life), in the order of :func:`window_features`."""
        return tuple(f"{field}_{stat}{w.label}" for w in self.windows for stat in w.stats for field in self.fields)


@dataclass(frozen=True)
class Totals:
    """Running aggregates since the first reading, per (row, field).

    Values are taken relative to the first reading (``first``), which keeps the sums small
    and the slope free of cancellation; reading i (0-based) adds ``d`` to ``sum`` and
    ``i * d`` to ``weighted``. ``baseline_sums`` maps a baseline length B to the sum of the
    first min(count, B) readings.
    """

    first: np.ndarray
    sum: np.ndarray
    weighted: np.ndarray
    low: np.ndarray
    high: np.ndarray
    baseline_sums: dict[int, np.ndarray]


def window_features(windows: np.ndarray, counts: np.ndarray, spec: WindowSpec, totals: Totals) -> np.ndarray:
    """Features: windows (rows, fields, length), counts (rows,), totals -> (rows, features)."""
    rows, n_fields, length = windows.shape
    if n_fields != len(spec.fields) or length != spec.length:
        raise ValueError(f"windows of shape {windows.shape} do not fit {len(spec.fields)} fields x {spec.length}")
    # One column per position, one entry per (row, field): every step below is on contiguous rows.
    by_position = np.ascontiguousarray(windows.reshape(rows * n_fields, length).T)
    columns: list[np.ndarray] = []
    for window in spec.windows:
        if window.size == ALL:
            computed = _whole_life(totals, counts.astype(np.float64)[:, None])
        else:
            k = np.repeat(np.minimum(counts, window.size).astype(np.float64), n_fields)
            flat = _stats(by_position[length - window.size :], k, window)
            computed = {stat: value.reshape(rows, n_fields) for stat, value in flat.items()}
        if window.baseline:
            seen = np.minimum(counts, window.baseline).astype(np.float64)[:, None]
            level = totals.baseline_sums[window.baseline] / seen
            computed = {stat: value if stat == "slope" else value - level for stat, value in computed.items()}
        columns.extend(computed[stat] for stat in window.stats)
    if not columns:
        return np.zeros((rows, 0))
    return np.concatenate(columns, axis=1)


def _stats(values: np.ndarray, k: np.ndarray, window: Window) -> dict[str, np.ndarray]:
    """mean/slope/min/max of each column of (size, n) values over its last k[i] positions."""
    size = window.size
    first_valid = size - k  # (n,): positions before it are padding
    position = np.arange(size, dtype=np.float64)[:, None]
    valid = position >= first_valid
    mean = _sum_in_order(values) / k
    result = {"mean": mean}
    if "slope" in window.stats:
        # Positions centred on the middle of the k valid ones: exact half-integers.
        centred = position - (first_valid + (k - 1) / 2)
        products = np.where(valid, centred * (values - mean), 0.0)
        spread = k * (k * k - 1) / 12  # the sum of the squared centred positions
        result["slope"] = np.divide(_sum_in_order(products), spread, out=np.zeros(mean.shape), where=spread > 0)
    if "min" in window.stats:
        result["min"] = np.where(valid, values, np.inf).min(axis=0)
    if "max" in window.stats:
        result["max"] = np.where(valid, values, -np.inf).max(axis=0)
    return result


_ROW_BY_ROW_FROM = 256  # columns from which adding row by row beats accumulate


def _sum_in_order(values: np.ndarray) -> np.ndarray:
    """Sum of each column of (positions, n) strictly in position order, whatever n is.

    ``np.sum`` may add pairwise or in a shape-dependent order. Both ways here add position 0,
    then 1, ... one at a time (``add.accumulate`` is sequential by definition), so a sum
    never depends on the other columns nor on which way ran: adding whole rows is faster
    for many columns, accumulate for few.
    """
    if values.shape[1] < _ROW_BY_ROW_FROM:
        return np.asarray(np.add.accumulate(values, axis=0)[-1])
    total = np.array(values[0])
    for row in values[1:]:
        total += row
    return total


def _whole_life(totals: Totals, n: np.ndarray) -> dict[str, np.ndarray]:
    """mean/slope/min/max since the first reading, from the running totals (n readings)."""
    index_sum = n * (n - 1) / 2  # sum of i over 0..n-1, exact
    spread = n * n * (n * n - 1) / 12  # n * sum of squared centred positions, exact
    slope_numerator = n * totals.weighted - index_sum * totals.sum
    slope = np.divide(slope_numerator, spread, out=np.zeros(totals.sum.shape), where=spread > 0)
    return {"mean": totals.first + totals.sum / n, "slope": slope, "min": totals.low, "max": totals.high}


def history_features(values: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """Features at every row of ONE machine's life, (readings, fields) in order -> (readings, features)."""
    readings, n_fields = values.shape
    if n_fields != len(spec.fields):
        raise ValueError(f"history has {n_fields} fields, the spec {len(spec.fields)}")
    values = np.asarray(values, dtype=np.float64)
    length = spec.length
    padded = np.concatenate([np.zeros((length - 1, n_fields)), values])
    # windows[t, f, j] = values[t - length + 1 + j, f] (zero before the first reading)
    windows = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(padded, length, axis=0))
    return window_features(windows, np.arange(1, readings + 1), spec, _history_totals(values, spec.baselines))


def _history_totals(values: np.ndarray, baselines: tuple[int, ...]) -> Totals:
    """The running totals after each reading, accumulated in reading order (as MachineWindow does)."""
    first = np.broadcast_to(values[:1], values.shape) if len(values) else values
    change = values - first
    index = np.arange(len(values), dtype=np.float64)[:, None]
    sums = {}
    for size in baselines:
        head = np.add.accumulate(values[:size], axis=0)
        sums[size] = np.concatenate([head, np.broadcast_to(head[-1:], (max(len(values) - size, 0), values.shape[1]))])
    return Totals(
        first=first,
        sum=np.add.accumulate(change, axis=0),
        weighted=np.add.accumulate(index * change, axis=0),
        low=np.minimum.accumulate(values, axis=0),
        high=np.maximum.accumulate(values, axis=0),
        baseline_sums=sums,
    )


class MachineWindow:
    """The serving state of one machine: its last readings, running totals and baselines.

    Small ((length + 5 + baselines) x fields float64) and serialisable (:meth:`to_bytes`),
    so it can be snapshotted or kept in a shared store. Readings must come in order: one
    whose order key is not above the last one applied (a redelivered duplicate, a late
    reading) is ignored, so at-least-once delivery never counts a reading twice.
    """

    def __init__(self, n_fields: int, length: int, baselines: tuple[int, ...] = ()) -> None:
        # The window itself, (fields, length): each push shifts it left by one reading, so it
        # is always in the order window_features wants (a copy of 8 x fields x length bytes
        # beats reordering a ring buffer on every read).
        self.buffer = np.zeros((n_fields, length))
        self.count = 0
        self.last_order: float | None = None
        self.baselines = baselines
        # first, sum, weighted, low, high (see Totals), then one sum per baseline
        self.totals = np.zeros((5 + len(baselines), n_fields))
        # Views of the totals' rows, so a push does not slice them again (the array is only ever
        # written in place: reset and from_bytes assign into it).
        self._rows = tuple(self.totals[:5])
        self._baseline_rows = tuple((self.totals[row], size) for row, size in enumerate(baselines, start=5))

    @classmethod
    def for_spec(cls, spec: WindowSpec) -> MachineWindow:
        return cls(len(spec.fields), spec.length, spec.baselines)

    def push(self, values: Sequence[float] | np.ndarray, order: float) -> bool:
        """Apply one reading's values; False (and no change) when `order` is not new."""
        if self.last_order is not None and not order > self.last_order:
            return False
        values = np.asarray(values, dtype=np.float64)
        first, total, weighted, low, high = self._rows  # views of self.totals, made once
        if self.count == 0:
            first[:], low[:], high[:] = values, values, values
        change = values - first
        total += change
        weighted += self.count * change
        np.minimum(low, values, out=low)
        np.maximum(high, values, out=high)
        for row, size in self._baseline_rows:
            if self.count < size:
                np.add(row, values, out=row)
        buffer = self.buffer
        buffer[:, :-1] = buffer[:, 1:]
        buffer[:, -1] = values
        self.count += 1
        self.last_order = float(order)
        return True

    def reset(self) -> None:
        """Forget the history (a new life: the machine's order counter restarted)."""
        self.buffer[:] = 0.0
        self.totals[:] = 0.0
        self.count = 0
        self.last_order = None

    def window(self) -> np.ndarray:
        """(fields, length): oldest left, newest right, zeros before the first reading (a view)."""
        return self.buffer

    def current_totals(self) -> Totals:
        """The totals as one-row arrays, for :func:`window_features`."""
        rows = [row[None] for row in self.totals]
        sums = dict(zip(self.baselines, rows[5:], strict=True))
        return Totals(first=rows[0], sum=rows[1], weighted=rows[2], low=rows[3], high=rows[4], baseline_sums=sums)

    def features(self, spec: WindowSpec) -> np.ndarray:
        """This machine's current features, (features,)."""
        features = window_features(self.window()[None], np.array([self.count]), spec, self.current_totals())
        return np.asarray(features[0])

    def to_bytes(self) -> bytes:
        """A compact snapshot: header, baseline lengths, window (fields x length), totals."""
        n_fields, length = self.buffer.shape
        last = math.nan if self.last_order is None else self.last_order
        header = _STATE_HEADER.pack(_STATE_MAGIC, n_fields, length, len(self.baselines), self.count, last)
        sizes = np.asarray(self.baselines, dtype="<u4").tobytes()
        return header + sizes + self.buffer.astype("<f8").tobytes() + self.totals.astype("<f8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> MachineWindow:
        """Rebuild a state from :meth:`to_bytes` (ValueError when the bytes are not one)."""
        if len(data) < _STATE_HEADER.size:
            raise ValueError("window state too short")
        magic, n_fields, length, n_baselines, count, last = _STATE_HEADER.unpack_from(data)
        offset = _STATE_HEADER.size + 4 * n_baselines
        body = np.frombuffer(data[offset:], dtype="<f8")
        if magic != _STATE_MAGIC or body.size != (length + 5 + n_baselines) * n_fields:
            raise ValueError("not a window state, or a truncated one")
        baselines = tuple(int(b) for b in np.frombuffer(data[_STATE_HEADER.size : offset], dtype="<u4"))
        state = cls(n_fields, length, baselines)
        state.buffer[:] = body[: length * n_fields].reshape(n_fields, length)
        state.totals[:] = body[length * n_fields :].reshape(-1, n_fields)
        state.count = count
        state.last_order = None if math.isnan(last) else last
        return state
