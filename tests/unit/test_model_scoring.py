"""ModelScorer on a small forest fitted in memory on rule-labelled rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from model.artifact import NO_FAILURE, LoadedModel
from model.engineering import FEATURE_NAMES, engineer
from model.scoring import MODE_FLOOR_RATIO, ModelScorer
from training.modelling import Hyperparameters, build_pipeline


def _rows(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    air = rng.uniform(296, 304, count)
    return np.column_stack(
        [
            rng.integers(0, 3, count),
            air,
            air + rng.uniform(7.5, 12, count),
            rng.uniform(1200, 2800, count),
            rng.uniform(5, 75, count),
            rng.uniform(0, 250, count),
        ]
    ).astype(float)


def _labels(raw: np.ndarray) -> np.ndarray:
    features = engineer(raw)
    heat = features[:, FEATURE_NAMES.index("heat_margin")]
    power = features[:, FEATURE_NAMES.index("power_margin_w")]
    return np.where(power < 0, "PWF", np.where(heat < 0, "HDF", NO_FAILURE))


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    raw = _rows(3000)
    return build_pipeline(Hyperparameters(n_estimators=15), seed=1).fit(raw, _labels(raw))


def _scorer(pipeline: Pipeline, threshold: float = 0.4) -> ModelScorer:
    classes = tuple(str(c) for c in pipeline.classes_)
    return ModelScorer(LoadedModel("abcdef012345", pipeline, {}, threshold, classes))


def test_failure_probability_is_one_minus_none(pipeline: Pipeline) -> None:
    raw = _rows(200, seed=2)
    batch = _scorer(pipeline).score(raw)
    proba = pipeline.predict_proba(raw)
    none = list(pipeline.classes_).index(NO_FAILURE)
    assert np.allclose(batch.failure_probability, 1 - proba[:, none])
    assert len(batch.predicted_mode) == len(raw)


def test_scores_separate_failures_from_normal_rows(pipeline: Pipeline) -> None:
    raw = _rows(500, seed=3)
    truth = _labels(raw) != NO_FAILURE
    batch = _scorer(pipeline).score(raw)
    flagged = batch.failure_probability >= 0.4
    assert np.mean(flagged == truth) > 0.95


def test_mode_is_the_likeliest_failure_class_above_the_floor(pipeline: Pipeline) -> None:
    scorer = _scorer(pipeline, threshold=0.4)
    raw = _rows(500, seed=4)
    batch = scorer.score(raw)
    proba = pipeline.predict_proba(raw)
    classes = list(pipeline.classes_)
    assert scorer.mode_floor == pytest.approx(MODE_FLOOR_RATIO * 0.4)
    for row, (probability, mode) in enumerate(zip(batch.failure_probability, batch.predicted_mode, strict=True)):
        if probability < scorer.mode_floor:
            assert mode is None
        else:
            failure_proba = {c: proba[row, i] for i, c in enumerate(classes) if c != NO_FAILURE}
            assert mode == max(failure_proba, key=failure_proba.__getitem__)
    assert {"PWF", "HDF"} <= {m for m in batch.predicted_mode if m}


def test_scorer_predicts_single_threaded_and_handles_empty_batches(pipeline: Pipeline) -> None:
    pipeline.set_params(forest__n_jobs=2)
    scorer = _scorer(pipeline)
    assert pipeline.named_steps["forest"].n_jobs == 1
    empty = scorer.score(np.zeros((0, 6)))
    assert empty.failure_probability.shape == (0,)
    assert empty.predicted_mode == []
    assert (scorer.version, scorer.threshold) == ("abcdef012345", 0.4)
