"""Serving the time-series model kinds: features from a machine's state, RUL and anomaly scores.

A RUL regressor or an anomaly detector reads, for each reading, the reading's inputs and
the rolling window features of its machine (model/windows.py), in the order
:class:`SeriesFeatures` names them. Both models are served from their ONNX export
(model/series_onnx.py) by onnxruntime on one thread:

* :class:`RulScorer`: remaining useful life, clipped at 0, with an interval from the
  conformal table on the card (offsets of the true RUL around the prediction, per band of
  predicted RUL, calibrated on machines the model did not see);
* :class:`AnomalyScorer`: a distance from normal behaviour; flagged above the threshold
  the card sets from the training data's own scores.

numpy and onnxruntime only: the worker imports this module, never scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.windows import ALL, MachineWindow, Totals, Window, WindowSpec, history_features, window_features

__all__ = [
    "INPUT_NAME",
    "OUTPUT_NAME",
    "AnomalyScorer",
    "IntervalTable",
    "RulScorer",
    "SeriesFeatures",
    "onnx_session",
]

INPUT_NAME = "features"
OUTPUT_NAME = "output"


@dataclass(frozen=True)
class SeriesFeatures:
    """The model's inputs: the reading's values (unless `current` is off), then its machine's window features."""

    inputs: tuple[str, ...]
    spec: WindowSpec
    current: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return (*(self.inputs if self.current else ()), *self.spec.feature_names)

    def history(self, values: np.ndarray) -> np.ndarray:
        """Features at every reading of ONE machine's ordered history (readings, inputs)."""
        windowed = history_features(values, self.spec)
        return np.hstack([np.asarray(values, dtype=np.float64), windowed]) if self.current else windowed

    def state(self) -> MachineWindow:
        return MachineWindow.for_spec(self.spec)

    def rows(self, states: Sequence[MachineWindow]) -> np.ndarray:
        """Features of several machines' current states at once, (machines, features)."""
        return self._features(
            np.stack([state.window() for state in states]),
            np.array([state.count for state in states]),
            np.stack([state.totals for state in states]),
        )

    def push_rows(
        self, readings: Sequence[tuple[MachineWindow, Sequence[float], float]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Push a batch of readings (state, values, order) in arrival order; features of each, computed at once.

        A machine may appear several times: each reading gets the window as it was right after
        its own push. Returns (features of the applied readings, applied mask); a duplicate or
        late reading is not applied (see MachineWindow.push) and has no row.
        """
        windows, counts, totals, applied = [], [], [], []
        for state, values, order in readings:
            applied.append(state.push(values, order))
            if applied[-1]:
                windows.append(state.window().copy())
                counts.append(state.count)
                totals.append(state.totals.copy())
        if not windows:
            return np.zeros((0, len(self.names))), np.array(applied, dtype=bool)
        return self._features(np.stack(windows), np.array(counts), np.stack(totals)), np.array(applied, dtype=bool)

    def from_snapshots(self, windows: np.ndarray, counts: np.ndarray, every: np.ndarray) -> np.ndarray:
        """Features of states copied reading by reading: windows, counts, totals (see :meth:`_features`)."""
        return self._features(windows, counts, every)

    def _features(self, windows: np.ndarray, counts: np.ndarray, every: np.ndarray) -> np.ndarray:
        """From stacked windows (machines, fields, length), counts and totals (machines, rows, fields)."""
        sums = {size: every[:, 5 + i] for i, size in enumerate(self.spec.baselines)}
        totals = Totals(every[:, 0], every[:, 1], every[:, 2], every[:, 3], every[:, 4], sums)
        features = window_features(windows, counts, self.spec, totals)
        if not self.current:
            return features
        return np.hstack([windows[:, :, -1], features])  # the newest reading's values first

    def to_card(self) -> dict[str, Any]:
        return {
            "inputs": list(self.inputs),
            "current": self.current,
            "windows": [_window_card(w) for w in self.spec.windows],
            "warmup": self.spec.warmup,
            "features": list(self.names),
        }

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> SeriesFeatures:
        inputs = tuple(card["inputs"])
        windows = tuple(
            Window(ALL if w["size"] == "all" else int(w["size"]), tuple(w["stats"]), int(w.get("baseline", 0)))
            for w in card["windows"]
        )
        features = cls(inputs, WindowSpec(inputs, windows), bool(card.get("current", True)))
        if list(features.names) != card.get("features"):
            raise ValueError("the card's feature names differ from those its inputs and windows produce")
        return features


def _window_card(window: Window) -> dict[str, Any]:
    card: dict[str, Any] = {"size": "all" if window.size == ALL else window.size, "stats": list(window.stats)}
    if window.baseline:
        card["baseline"] = window.baseline
    return card


def onnx_session(model: bytes) -> Any:
    """An onnxruntime session on one thread (the worker's batches are small)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class IntervalTable:
    """Offsets of the true RUL around a prediction, per band of predicted RUL.

    Band i holds predictions in [edges[i - 1], edges[i]); the interval of a prediction p
    in band i is [p + low[i], p + high[i]], clipped at 0.
    """

    edges: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    coverage: float

    def apply(self, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        band = np.searchsorted(np.asarray(self.edges), predicted, side="right")
        low = np.maximum(predicted + np.asarray(self.low)[band], 0.0)
        high = np.maximum(predicted + np.asarray(self.high)[band], 0.0)
        return low, high

    def to_card(self) -> dict[str, Any]:
        return {"edges": list(self.edges), "low": list(self.low), "high": list(self.high), "coverage": self.coverage}

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> IntervalTable:
        table = cls(tuple(card["edges"]), tuple(card["low"]), tuple(card["high"]), float(card["coverage"]))
        if not len(table.low) == len(table.high) == len(table.edges) + 1:
            raise ValueError("interval table: low and high need one value per band (edges + 1)")
        return table


class RulScorer:
    """Remaining useful life and its interval from a RUL model's ONNX export."""

    def __init__(self, onnx_model: bytes, interval: IntervalTable) -> None:
        self.session = onnx_session(onnx_model)
        self.interval = interval

    def predict(self, features: np.ndarray) -> np.ndarray:
        output = self.session.run([OUTPUT_NAME], {INPUT_NAME: np.asarray(features, dtype=np.float64)})[0]
        return np.maximum(np.asarray(output, dtype=np.float64).reshape(-1), 0.0)

    def score(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rul, low, high) per row."""
        rul = self.predict(features)
        low, high = self.interval.apply(rul)
        return rul, low, high


class AnomalyScorer:
    """An anomaly score per row, and whether it raises an alarm.

    A row alarms when its score is above the threshold and its machine has had `warmup`
    readings (before that its windows and baseline are still filling).
    """

    def __init__(self, onnx_model: bytes, threshold: float, warmup: int) -> None:
        self.session = onnx_session(onnx_model)
        self.threshold = threshold
        self.warmup = warmup

    def score(self, features: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(score, flagged) per row; `counts` are the machines' readings so far."""
        output = self.session.run([OUTPUT_NAME], {INPUT_NAME: np.asarray(features, dtype=np.float64)})[0]
        score = np.asarray(output, dtype=np.float64).reshape(-1)
        return score, (score > self.threshold) & (np.asarray(counts) >= self.warmup)
