"""RUL figures (RMSE, NASA's score on last rows), alarm leads and false alarms, splits over machines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.series.metrics import alarm_figures, first_alarms, last_rows, nasa_score, rmse, rul_figures
from training.series.splits import Cut, cut_rows, machine_folds, split_machines


def test_nasa_score_charges_late_predictions_more() -> None:
    true = np.array([50.0, 50.0, 50.0, 50.0])
    predicted = np.array([60.0, 37.0, 50.0, 40.0])  # 10 late, 13 early, exact, 10 early
    score = nasa_score(predicted, true)
    assert score[0] == pytest.approx(math.e - 1)  # exp(10 / 10) - 1
    assert score[1] == pytest.approx(math.e - 1)  # exp(13 / 13) - 1
    assert score[2] == 0.0
    assert score[3] == pytest.approx(math.exp(10 / 13) - 1)
    assert score[0] > score[3]  # the same error costs more late than early


def test_rmse_and_last_rows() -> None:
    assert rmse(np.array([1.0, 5.0]), np.array([4.0, 1.0])) == pytest.approx(math.sqrt((9 + 16) / 2))
    machines = np.array(["a", "a", "a", "b", "c", "c"])
    assert last_rows(machines).tolist() == [2, 3, 5]
    assert last_rows(np.array([], dtype=str)).tolist() == []


def test_rul_figures_read_each_machines_last_row() -> None:
    machines = np.array(["a", "a", "a", "b", "b"])
    true = np.array([30.0, 20.0, 10.0, 5.0, 4.0])
    predicted = np.array([0.0, 0.0, 13.0, 9.0, 0.0])
    low = predicted - 5
    high = predicted + np.array([5.0, 5.0, 5.0, 5.0, 2.0])  # b's last interval [-5, 2] misses its 4
    figures = rul_figures(machines, true, predicted, (low, high))
    assert figures.machines == 2
    assert figures.last_rmse == pytest.approx(math.sqrt((3**2 + 4**2) / 2))
    assert figures.last_score == pytest.approx(float(np.sum(nasa_score(np.array([13.0, 0.0]), np.array([10.0, 4.0])))))
    assert figures.last_mean_error == pytest.approx((3 - 4) / 2)
    assert figures.all_rmse == pytest.approx(rmse(predicted, true))
    assert figures.coverage_last == pytest.approx(0.5)  # a's 10 is in [8, 18]
    assert figures.coverage_all == pytest.approx(2 / 5)
    assert figures.mean_width_last == pytest.approx((10 + 7) / 2)


def test_alarm_leads_false_alarms_and_undecided_machines() -> None:
    # a: runs to failure, alarm at RUL 30 -> lead 30. b: alarm at its very start (first half) and
    # again at RUL 10 -> one early false alarm machine, lead 10. c: cut at RUL 50 with no alarm:
    # not judged. d: runs to failure without an alarm: missed.
    lives = {
        "a": np.arange(99, -1, -1),
        "b": np.arange(79, -1, -1),
        "c": np.arange(120, 49, -1),
        "d": np.arange(59, -1, -1),
    }
    alarms = {
        "a": lives["a"] <= 30,
        "b": (lives["b"] == 79) | (lives["b"] <= 10),
        "c": lives["c"] < 0,
        "d": lives["d"] < 0,
    }
    machines = np.concatenate([np.full(len(life), name) for name, life in lives.items()])
    rul = np.concatenate(list(lives.values())).astype(float)
    flagged = np.concatenate(list(alarms.values()))
    figures = alarm_figures(machines, rul, flagged, min_lead=20)
    assert figures.leads == {"a": 30, "b": 10, "c": None, "d": None}
    assert figures.undecided == 1
    assert figures.flagged_share == pytest.approx(1 / 3)  # a of a, b, d
    assert figures.median_lead == 20.0
    assert figures.min_lead_seen == 10
    assert figures.early_false_alarm_machines == 1
    healthy_rows = 50 + 40 + 61 + 30  # rows whose RUL is at least their age
    assert figures.false_alarms_per_1000 == pytest.approx(1000 / healthy_rows)
    assert first_alarms(machines, flagged) == {"a": 69, "b": 0, "c": None, "d": None}


def test_folds_hold_every_machine_out_once_and_never_on_both_sides() -> None:
    ids = [f"m{i}" for i in range(23)]
    folds = machine_folds(ids, 5, seed=3)
    held = [m for fold in folds for m in fold.held_out]
    assert sorted(held) == sorted(ids)
    for fold in folds:
        assert not set(fold.fit) & set(fold.held_out)
        assert set(fold.fit) | set(fold.held_out) == set(ids)
    assert machine_folds(ids, 5, seed=3) == folds
    assert machine_folds(ids, 5, seed=4) != folds
    with pytest.raises(ValueError, match="folds"):
        machine_folds(ids[:3], 5, seed=0)


def test_single_split_keeps_machines_whole() -> None:
    ids = [f"m{i}" for i in range(10)]
    split = split_machines(ids, 0.2, seed=1)
    assert len(split.held_out) == 2
    assert not set(split.fit) & set(split.held_out)
    with pytest.raises(ValueError, match="at least 2 machines"):
        split_machines(["only"], 0.2, seed=1)


def test_cuts_leave_a_true_rul_like_nasas_test_engines() -> None:
    lengths = [128, 200, 362, 40]
    machines = np.concatenate([np.full(n, f"e{i}") for i, n in enumerate(lengths)])
    rul = np.concatenate([np.arange(n - 1, -1, -1) for n in lengths]).astype(float)
    cut = Cut(min_rul=7, max_rul=145, min_history=31)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    seen = []
    for seed in range(30):
        rows = cut_rows(machines, rul, seed, cut)
        assert [machines[r] for r in rows] == ["e0", "e1", "e2", "e3"]
        kept = rows - starts + 1
        assert (kept >= cut.min_history).all()
        assert (rul[rows] <= cut.max_rul).all()
        assert (rul[rows[:3]] >= cut.min_rul).all()  # the short one may keep less RUL than asked
        seen.extend(rul[rows].tolist())
    assert np.array_equal(cut_rows(machines, rul, 5, cut), cut_rows(machines, rul, 5, cut))
    assert len(set(seen)) > 30  # the cuts vary with the seed
