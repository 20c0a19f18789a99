"""The anomaly recipe: distance from normal behaviour, learned from normal history alone.

* Normal data: the first ``normal_fraction`` of every training history (0.3 for the
  turbofan: the start of life, when nothing fails yet), after the windows' warm-up.
  No label is read.
* Score: the squared Mahalanobis distance of the detector's window features from the
  normal rows (mean, scale, Ledoit-Wolf shrunk covariance). For the turbofan the features
  are each sensor's recent mean relative to the engine's own first readings, so the spread
  between engines does not hide the drift.
* Threshold: ``margin`` x the ``quantile`` of the normal rows' own scores (the largest
  one, by default): no normal training reading alarms, and a reading must stand that far
  beyond them to raise an alarm.
* Baseline for comparison: an isolation forest on the same rows (scikit-learn's), same
  threshold rule; see bench/series.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from training.series.data import DataError, Histories
from training.series.metrics import alarm_figures
from training.series.splits import machine_folds

__all__ = [
    "MIN_NORMAL_ROWS",
    "AnomalyParams",
    "Detector",
    "Mahalanobis",
    "cross_validate_detector",
    "fit_detector",
    "history_positions",
    "normal_rows",
]

MIN_NORMAL_ROWS = 200
ROWS_PER_FEATURE = 10  # a covariance needs many more rows than features


@dataclass(frozen=True)
class AnomalyParams:
    """Everything that shapes the detector, recorded on its card."""

    normal_fraction: float = 0.3
    margin: float = 4.0
    quantile: float = 1.0
    folds: int = 5
    min_lead: int = 20  # a machine counts as warned when flagged this many readings before failure

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Mahalanobis:
    """Squared Mahalanobis distance from the rows it was fitted on."""

    mean: np.ndarray
    scale: np.ndarray
    precision: np.ndarray

    @classmethod
    def fit(cls, rows: np.ndarray) -> Mahalanobis:
        from sklearn.covariance import LedoitWolf

        mean = rows.mean(axis=0)
        scale = rows.std(axis=0)
        scale[scale == 0] = 1.0  # a constant feature: any change is measured in its own units
        covariance = LedoitWolf().fit((rows - mean) / scale)
        return cls(mean, scale, np.asarray(covariance.precision_))

    def score(self, rows: np.ndarray) -> np.ndarray:
        z = (rows - self.mean) / self.scale
        return np.asarray(np.einsum("ij,jk,ik->i", z, self.precision, z))


@dataclass(frozen=True)
class Detector:
    """A fitted scorer and its threshold."""

    scorer: Any  # Mahalanobis, or anything with .score(rows) -> scores
    threshold: float
    normal_rows: int

    def flag(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.scorer.score(rows) > self.threshold)


def history_positions(histories: Histories) -> tuple[np.ndarray, np.ndarray]:
    """(position of each row in its machine's history from 0, length of that history)."""
    position = np.zeros(len(histories), dtype=np.int64)
    length = np.zeros(len(histories), dtype=np.int64)
    for _, rows in histories.spans():
        position[rows] = np.arange(rows.stop - rows.start)
        length[rows] = rows.stop - rows.start
    return position, length


def normal_rows(histories: Histories, fraction: float, warmup: int) -> np.ndarray:
    """Rows in the first `fraction` of their machine's history, once its windows are full."""
    position, length = history_positions(histories)
    return (position < fraction * length) & (position + 1 >= warmup)


def fit_detector(rows: np.ndarray, params: AnomalyParams, source: str, scorer: Any = Mahalanobis) -> Detector:
    """Fit on normal rows; the threshold comes from their own scores (DataError when too few)."""
    needed = max(MIN_NORMAL_ROWS, ROWS_PER_FEATURE * rows.shape[1])
    if len(rows) < needed:
        raise DataError(
            f"{source}: {len(rows)} normal rows to learn from; an anomaly detector on {rows.shape[1]} features "
            f"needs at least {needed} (more machines, longer histories, or a larger normal fraction)"
        )
    fitted = scorer.fit(rows)
    reference = float(np.quantile(fitted.score(rows), params.quantile))
    return Detector(fitted, params.margin * reference, len(rows))


def cross_validate_detector(
    histories: Histories,
    features: np.ndarray,
    warmup: int,
    params: AnomalyParams,
    seed: int,
    *,
    scorer: Any = Mahalanobis,
) -> np.ndarray:
    """Out-of-fold alarms of every row: each fold's detector learns from the other machines' normal rows."""
    normal = normal_rows(histories, params.normal_fraction, warmup)
    position, _ = history_positions(histories)
    flagged = np.zeros(len(histories), dtype=bool)
    for fold in machine_folds(histories.ids, params.folds, seed):
        held = np.isin(histories.machines, fold.held_out)
        detector = fit_detector(features[normal & ~held], params, histories.source, scorer)
        flagged[held] = detector.flag(features[held]) & (position[held] + 1 >= warmup)
    return flagged


def detector_figures(histories: Histories, flagged: np.ndarray, params: AnomalyParams) -> dict[str, Any]:
    """Leads and false alarms when histories run to failure; false alarms only when all rows are normal."""
    if params.normal_fraction >= 1 or histories.rul is None:
        rate = 1000 * float(np.mean(flagged)) if len(flagged) else 0.0
        return {"rows": len(flagged), "false_alarms_per_1000": rate}
    figures = alarm_figures(histories.machines, histories.rul, flagged, params.min_lead).as_dict()
    return {"rows": len(flagged), **figures}
