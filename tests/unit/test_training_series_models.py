"""Anomaly thresholds from the normal data's own scores, and the RUL interval table."""

from __future__ import annotations

import numpy as np
import pytest

from model.series import IntervalTable
from training.series.anomaly import AnomalyParams, Mahalanobis, fit_detector, normal_rows
from training.series.data import DataError, Histories
from training.series.rul import BAND_EDGES, fit_interval


def _normal(rows: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = np.array([[1.0, 0.8, 0.0], [0.0, 0.6, 0.0], [0.0, 0.0, 2.0]])
    return np.asarray(rng.normal(0, 1, (rows, 3)) @ mixing + [10.0, -5.0, 300.0])


def test_threshold_is_a_margin_over_the_normal_rows_own_scores() -> None:
    rows = _normal(2000)
    detector = fit_detector(rows, AnomalyParams(margin=4.0, quantile=1.0), "x.csv")
    scores = detector.scorer.score(rows)
    assert detector.threshold == pytest.approx(4.0 * scores.max())
    assert not detector.flag(rows).any()  # no normal training reading alarms
    assert detector.normal_rows == 2000
    lower = fit_detector(rows, AnomalyParams(margin=1.0, quantile=0.99), "x.csv")
    assert lower.threshold == pytest.approx(float(np.quantile(scores, 0.99)))
    assert np.mean(lower.flag(rows)) == pytest.approx(0.01, abs=0.002)


def test_mahalanobis_measures_distance_against_the_normal_spread() -> None:
    rows = _normal(4000)
    scorer = Mahalanobis.fit(rows)
    centre = scorer.score(rows.mean(axis=0, keepdims=True))[0]
    assert centre == pytest.approx(0.0, abs=1e-9)
    assert scorer.score(rows).mean() == pytest.approx(3.0, rel=0.05)  # about the number of features
    # The same step is far along the narrow direction (third feature: sd 2 of 300) and near along none.
    step = np.zeros((1, 3))
    step[0, 2] = 8.0
    assert scorer.score(rows.mean(axis=0) + step)[0] == pytest.approx(16.0, rel=0.1)
    constant = np.column_stack([rows, np.full(len(rows), 7.0)])
    assert np.isfinite(Mahalanobis.fit(constant).score(constant)).all()


def test_too_few_normal_rows_is_an_error() -> None:
    with pytest.raises(DataError, match=r"x.csv: 150 normal rows to learn from; .* needs at least 200"):
        fit_detector(_normal(150), AnomalyParams(), "x.csv")
    wide = np.random.default_rng(1).normal(size=(400, 50))
    with pytest.raises(DataError, match="on 50 features needs at least 500"):
        fit_detector(wide, AnomalyParams(), "x.csv")


def test_normal_rows_are_the_start_of_each_history_after_warmup() -> None:
    machines = np.array(["a"] * 10 + ["b"] * 20)
    histories = Histories(machines, np.zeros(30), np.zeros((30, 1)), None, "")
    mask = normal_rows(histories, 0.3, warmup=2)
    assert np.flatnonzero(mask).tolist() == [1, 2, *range(11, 16)]


def test_interval_table_covers_its_share_per_band() -> None:
    rng = np.random.default_rng(7)
    predicted = rng.uniform(0, 125, 20000)
    true = predicted + rng.normal(0, 1 + predicted / 10)  # wider when far from failure
    table = fit_interval(predicted, true, coverage=0.8)
    assert table.edges == BAND_EDGES
    widths = np.array(table.high) - np.array(table.low)
    assert (np.diff(widths) > 0).all()
    fresh = rng.uniform(0, 125, 20000)
    fresh_true = fresh + rng.normal(0, 1 + fresh / 10)
    low, high = table.apply(fresh)
    assert np.mean((low <= fresh_true) & (fresh_true <= high)) == pytest.approx(0.8, abs=0.02)
    assert (low >= 0).all()
    assert IntervalTable.from_card(table.to_card()) == table
    with pytest.raises(ValueError, match="one value per band"):
        IntervalTable.from_card({"edges": [1.0], "low": [0.0], "high": [1.0, 2.0], "coverage": 0.8})
