"""Threshold choice, stratification, split and metrics on hand-made numbers."""

from __future__ import annotations

import numpy as np
import pytest

from contract import default_profile
from model.scoring import ScoreBatch
from training.dataset import Dataset, DatasetError, modes_of
from training.metrics import binary_metrics, score_metrics
from training.modelling import Hyperparameters, choose_threshold, split_indices, strata

MODES = modes_of(default_profile())


def _dataset(modes: list[str]) -> Dataset:
    mode = np.array(modes, dtype=object)
    failure = (mode != "none").astype(np.int8)
    flags = np.zeros((len(modes), len(MODES)), dtype=bool)
    for row, name in enumerate(modes):
        if name != "none":
            flags[row, MODES.index(name)] = True
    raw = np.zeros((len(modes), 6))
    return Dataset(raw, failure, mode, flags, modes=MODES)


def test_threshold_sits_in_the_middle_of_the_best_plateau() -> None:
    # Failures score 0.6..0.9, normal rows 0.0..0.3: every cut in (0.3, 0.6] is perfect.
    truth = np.array([1] * 10 + [0] * 90)
    probability = np.concatenate([np.linspace(0.6, 0.9, 10), np.linspace(0.0, 0.3, 90)])
    threshold = choose_threshold(truth, probability)
    assert 0.42 <= threshold <= 0.48
    assert binary_metrics(truth, probability, threshold)["f1"] == 1.0


def test_threshold_ignores_a_lone_noisy_peak_at_the_edge() -> None:
    # One failure at 0.25 among normal rows up to 0.2: the best F1 cut is exactly 0.25,
    # but F1 is as good (within 0.01) up to 0.6, so the threshold moves inside the plateau.
    truth = np.array([1] * 100 + [0] * 200)
    probability = np.concatenate([[0.25], np.linspace(0.6, 0.95, 99), np.linspace(0.0, 0.2, 200)])
    threshold = choose_threshold(truth, probability)
    assert 0.3 < threshold < 0.6


def test_rare_modes_join_the_commonest_failure_mode_for_stratification() -> None:
    data = _dataset(["none"] * 20 + ["PWF"] * 6 + ["HDF"] * 5 + ["UNK"] * 2)
    labels = strata(data, 5)
    assert set(labels) == {"none", "PWF", "HDF"}
    assert (labels[-2:] == "PWF").all()


def test_split_is_stratified_by_mode_and_disjoint() -> None:
    data = _dataset(["none"] * 400 + ["PWF"] * 50 + ["HDF"] * 50)
    train, validation = split_indices(data, Hyperparameters(), seed=3)
    assert len(validation) == 100
    assert not set(train) & set(validation)
    assert (data.mode[validation] == "PWF").sum() == 10


def test_split_refuses_too_few_failures() -> None:
    with pytest.raises(DatasetError, match="need at least 10 failure"):
        split_indices(_dataset(["none"] * 100 + ["PWF"] * 3), Hyperparameters(), seed=0)


def test_metrics_by_hand() -> None:
    truth = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    probability = np.array([0.9, 0.8, 0.7, 0.1, 0.6, 0.2, 0.1, 0.1, 0.0, 0.0])
    m = binary_metrics(truth, probability, 0.5)
    assert m["confusion"] == {"tn": 5, "fp": 1, "fn": 1, "tp": 3}
    assert (m["precision"], m["recall"], m["f1"]) == (0.75, 0.75, 0.75)
    # Ranking: 3 failures first, then a normal row, then the 4th failure among ties.
    assert 0.7 < m["pr_auc"] < 1.0


def test_per_mode_recall_and_mode_accuracy() -> None:
    data = _dataset(["PWF", "PWF", "HDF", "TWF", "none"])
    batch = ScoreBatch(np.array([0.9, 0.2, 0.8, 0.1, 0.0]), ["PWF", None, "OSF", None, None])
    m = score_metrics(data, batch, 0.5)
    assert m["per_mode"]["PWF"] == {"n": 2, "detected": 1, "recall": 0.5}
    assert m["per_mode"]["HDF"]["recall"] == 1.0
    assert m["per_mode"]["TWF"]["recall"] == 0.0
    assert "OSF" not in m["per_mode"]
    assert m["mode_accuracy"] == 0.5  # PWF right, HDF predicted as OSF
