"""The remaining-useful-life recipe: gradient boosting on window features, conformal intervals.

* Target: the true RUL capped at the profile's cap (125 cycles for the turbofan): early in
  life the remaining life is not observable, so the model learns "healthy" there.
* Model: scikit-learn's HistGradientBoostingRegressor on the reading's inputs and its
  machine's window features (model/windows.py); served through its ONNX export.
* Validation: k-fold cross-validation over whole machines (never rows of one machine on
  both sides). Each held-out machine's out-of-fold predictions are read at seeded random
  cuts (training/series/splits.py), like NASA's test engines; the figures compare them
  with the TRUE (uncapped) RUL. The shipped model is refit on every machine.
* Interval: split-conformal per band of predicted RUL: the quantiles of (true - predicted)
  among out-of-fold predictions in the band. Its coverage on a fold is measured with a
  table built from the OTHER folds' residuals only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from model.series import IntervalTable, SeriesFeatures
from training.series.data import DataError, Histories
from training.series.metrics import rmse, rul_figures
from training.series.splits import Cut, cut_rows, machine_folds

__all__ = [
    "CrossValidation",
    "RulParams",
    "cross_validate",
    "cut_figures",
    "feature_matrix",
    "fit_interval",
    "fit_regressor",
    "spread",
]

MIN_MACHINES = 4
MIN_ROWS_PER_MACHINE = 2
BAND_EDGES = (25.0, 50.0, 75.0, 100.0)  # predicted RUL bands of the interval table


@dataclass(frozen=True)
class RulParams:
    """Everything that shapes the RUL model, recorded on its card."""

    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 40
    folds: int = 5
    coverage: float = 0.8
    cut_draws: int = 20  # seeded cuts of every held-out machine averaged in the figures

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def feature_matrix(histories: Histories, features: SeriesFeatures) -> np.ndarray:
    """Features of every row, machine by machine (windows never cross machines)."""
    return np.vstack([features.history(histories.values[rows]) for _, rows in histories.spans()])


def check_histories(histories: Histories, folds: int) -> None:
    """Enough machines for the folds, and histories rather than snapshots (DataError)."""
    if histories.rul is None:
        raise DataError(f"{histories.source}: no remaining life known for its rows")
    spans = histories.spans()
    short = [machine for machine, rows in spans if rows.stop - rows.start < MIN_ROWS_PER_MACHINE]
    if short:
        raise DataError(
            f"{histories.source}: machine {short[0]} has a single reading: a RUL model learns from "
            f"run-to-failure histories ({len(short)} of {len(spans)} machines are like it)"
        )
    if len(spans) < max(MIN_MACHINES, folds):
        raise DataError(
            f"{histories.source}: {len(spans)} machine(s); cross-validation over {folds} folds of whole machines "
            f"needs at least {max(MIN_MACHINES, folds)}"
        )


def fit_regressor(features: np.ndarray, target: np.ndarray, params: RulParams, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        random_state=seed,
    )
    return model.fit(features, target)


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold predictions of every row, and the fold that held each machine out."""

    predicted: np.ndarray
    fold: np.ndarray  # (rows,) fold index


def cross_validate(
    histories: Histories, features: np.ndarray, cap: float, params: RulParams, seed: int
) -> CrossValidation:
    assert histories.rul is not None
    target = np.minimum(histories.rul, cap)
    predicted = np.zeros(len(histories))
    fold_of = np.zeros(len(histories), dtype=np.int64)
    for k, fold in enumerate(machine_folds(histories.ids, params.folds, seed)):
        held = np.isin(histories.machines, fold.held_out)
        model = fit_regressor(features[~held], target[~held], params, seed)
        predicted[held] = np.maximum(model.predict(features[held]), 0.0)
        fold_of[held] = k
    return CrossValidation(predicted, fold_of)


def fit_interval(predicted: np.ndarray, true: np.ndarray, coverage: float) -> IntervalTable:
    """Per band of predicted RUL, the (1 - coverage) / 2 and (1 + coverage) / 2 quantiles of the residual."""
    band = np.searchsorted(np.asarray(BAND_EDGES), predicted, side="right")
    residual = true - predicted
    tail = (1 - coverage) / 2
    low, high = [], []
    for b in range(len(BAND_EDGES) + 1):
        inside = residual[band == b]
        if inside.size == 0:  # no prediction fell there: borrow the whole distribution
            inside = residual
        low.append(round(float(np.quantile(inside, tail)), 3))
        high.append(round(float(np.quantile(inside, 1 - tail)), 3))
    return IntervalTable(BAND_EDGES, tuple(low), tuple(high), coverage)


def cross_intervals(cv: CrossValidation, true: np.ndarray, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """Each row's interval from a table calibrated on the other folds' machines only."""
    low = np.zeros(len(true))
    high = np.zeros(len(true))
    for k in np.unique(cv.fold):
        held = cv.fold == k
        table = fit_interval(cv.predicted[~held], true[~held], coverage)
        low[held], high[held] = table.apply(cv.predicted[held])
    return low, high


def cut_figures(
    histories: Histories, cv: CrossValidation, cap: float, params: RulParams, *, seed: int, cut: Cut | None = None
) -> dict[str, Any]:
    """Figures on held-out machines: at `cut_draws` seeded cuts (mean, spread), per fold, on all rows."""
    assert histories.rul is not None
    cut = cut or Cut()
    true = histories.rul
    low, high = cross_intervals(cv, true, params.coverage)
    draws = []
    per_fold: list[list[float]] = [[] for _ in np.unique(cv.fold)]
    for draw in range(params.cut_draws):
        last = cut_rows(histories.machines, true, seed * 1000 + draw, cut)
        figures = rul_figures(histories.machines[last], true[last], cv.predicted[last], (low[last], high[last]))
        draws.append(figures)
        for k in range(len(per_fold)):
            mine = last[cv.fold[last] == k]
            per_fold[k].append(rmse(cv.predicted[mine], true[mine]))
    rmses = np.array([d.last_rmse for d in draws])
    scores = np.array([d.last_score for d in draws])
    everything = rul_figures(histories.machines, true, cv.predicted, (low, high))
    return {
        "cut": asdict(cut),
        "draws": params.cut_draws,
        "machines": draws[0].machines,
        "last_rmse": spread(rmses),
        "last_score": spread(scores),
        "last_mean_error": float(np.mean([d.last_mean_error for d in draws])),
        "last_coverage": float(np.mean([d.coverage_last for d in draws if d.coverage_last is not None])),
        "last_mean_width": float(np.mean([d.mean_width_last for d in draws if d.mean_width_last is not None])),
        "fold_last_rmse": [round(float(np.mean(f)), 3) for f in per_fold],
        "all_rows": {
            "rows": everything.rows,
            "rmse": everything.all_rmse,
            "rmse_capped": rmse(cv.predicted, np.minimum(true, cap)),
            "score_mean": everything.all_score_mean,
            "coverage": everything.coverage_all,
        },
    }


def spread(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Mean, population sd, min and max of repeated figures (folds, cuts, seeds), to 3 decimals."""
    figures = np.asarray(values, dtype=np.float64)
    return {
        "mean": round(float(np.mean(figures)), 3),
        "sd": round(float(np.std(figures)), 3),
        "min": round(float(np.min(figures)), 3),
        "max": round(float(np.max(figures)), 3),
    }
