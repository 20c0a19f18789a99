"""The ONNX export against scikit-learn, and the ModelScorer's choice of engine, on a forest fitted in memory."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from model.artifact import NO_FAILURE, LoadedModel
from model.engineering import FEATURE_NAMES, engineer
from model.onnx_export import ExportError, export_checked, export_onnx, onnx_probabilities, parity
from model.scoring import ModelScorer
from training.modelling import Hyperparameters, build_pipeline


def _rows(count: int, seed: int) -> np.ndarray:
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
    strain = features[:, FEATURE_NAMES.index("overstrain_ratio")]
    return np.where(power < 0, "PWF", np.where(heat < 0, "HDF", np.where(strain > 1, "OSF", NO_FAILURE)))


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    raw = _rows(3000, seed=1)
    return build_pipeline(Hyperparameters(n_estimators=25), seed=1).fit(raw, _labels(raw))


@pytest.fixture(scope="module")
def onnx_model(pipeline: Pipeline) -> bytes:
    return export_onnx(pipeline)


def _loaded(pipeline: Pipeline, onnx: bytes | None, threshold: float = 0.4) -> LoadedModel:
    classes = tuple(str(c) for c in pipeline.classes_)
    return LoadedModel("abcdef012345", pipeline, {"classes": list(classes)}, threshold, classes, onnx)


def _split_points(pipeline: Pipeline) -> np.ndarray:
    """Engineered rows whose scaled values land exactly on (or next to) the forest's split thresholds."""
    scaler, forest = pipeline.named_steps["scale"], pipeline.named_steps["forest"]
    rng = np.random.default_rng(7)
    base = engineer(_rows(400, seed=8))
    for tree in forest.estimators_:
        inner = np.flatnonzero(tree.tree_.feature >= 0)
        rows = base[rng.integers(0, len(base), len(inner))].copy()
        rows[np.arange(len(inner)), tree.tree_.feature[inner]] = (
            tree.tree_.threshold[inner] * scaler.scale_[tree.tree_.feature[inner]]
            + scaler.mean_[tree.tree_.feature[inner]]
        )
        base = np.vstack([base, rows])
    return base


def test_export_matches_the_pipeline_on_random_rows(pipeline: Pipeline, onnx_model: bytes) -> None:
    raw = _rows(2000, seed=2)
    checked = parity(pipeline, onnx_model, raw, threshold=0.4)
    print(f"\nparity on 2,000 random rows: max |diff| {checked.max_abs_diff:.2e}, agreement {checked.label_agreement}")
    assert checked.rows == 2000
    assert checked.max_abs_diff <= 1e-5
    assert checked.label_agreement == 1.0


def test_rows_on_the_split_thresholds_go_the_same_way(pipeline: Pipeline, onnx_model: bytes) -> None:
    # The scaler runs in float64 inside the graph, as in scikit-learn; scaled in float32,
    # values on a threshold would fall on the other side in some trees.
    import onnxruntime

    features = _split_points(pipeline)
    expected = pipeline[1:].predict_proba(features)
    session = onnxruntime.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"features": features})[0]
    assert len(features) > 500
    assert np.max(np.abs(got - expected)) <= 1e-5


def test_the_graph_names_its_classes_and_features(pipeline: Pipeline, onnx_model: bytes) -> None:
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["forewarn.classes"]) == [str(c) for c in pipeline.classes_]
    assert json.loads(meta["forewarn.features"]) == list(FEATURE_NAMES)
    (single,) = session.get_inputs()
    assert (single.name, single.type, single.shape[1]) == ("features", "tensor(double)", len(FEATURE_NAMES))


def test_scorer_engines_agree(pipeline: Pipeline, onnx_model: bytes) -> None:
    raw = _rows(1000, seed=3)
    fast = ModelScorer(_loaded(pipeline, onnx_model), engine="onnxruntime").score(raw)
    truth = ModelScorer(_loaded(pipeline, onnx_model), engine="scikit-learn").score(raw)
    assert np.max(np.abs(fast.failure_probability - truth.failure_probability)) <= 1e-5
    assert fast.predicted_mode == truth.predicted_mode
    assert {"PWF", "HDF"} <= {m for m in truth.predicted_mode if m}


def test_auto_serves_the_export_and_never_builds_a_deferred_pipeline(pipeline: Pipeline, onnx_model: bytes) -> None:
    built: list[bool] = []

    def load() -> Pipeline:
        built.append(True)
        return pipeline

    classes = tuple(str(c) for c in pipeline.classes_)
    deferred = LoadedModel("abcdef012345", None, {}, 0.4, classes, onnx_model, load_pipeline=load)
    scorer = ModelScorer(deferred)
    batch = scorer.score(_rows(50, seed=4))
    assert scorer.engine == "onnxruntime"
    assert len(batch.predicted_mode) == 50
    assert built == []
    assert not deferred.pipeline_loaded


def test_without_an_export_auto_falls_back_to_scikit_learn_and_says_so(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="model.scoring"):
        scorer = ModelScorer(_loaded(pipeline, None))
    assert scorer.engine == "scikit-learn"
    assert "no ONNX export" in caplog.text
    with pytest.raises(ValueError, match="no ONNX export"):
        ModelScorer(_loaded(pipeline, None), engine="onnxruntime")


@pytest.mark.parametrize("damage", ["corrupt", "other classes"])
def test_an_unusable_export_falls_back_to_scikit_learn(
    pipeline: Pipeline, onnx_model: bytes, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    onnx = onnx_model[: len(onnx_model) // 2] if damage == "corrupt" else onnx_model
    loaded = _loaded(pipeline, onnx)
    if damage == "other classes":  # as if the export belonged to another model
        loaded = LoadedModel(loaded.version, pipeline, {}, 0.4, (*loaded.classes, "RNF"), onnx)
    with caplog.at_level(logging.WARNING, logger="model.scoring"):
        scorer = ModelScorer(loaded)
    assert scorer.engine == "scikit-learn"
    assert "serving with scikit-learn" in caplog.text


def test_a_pipeline_it_cannot_export_is_refused_and_training_ships_without(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sklearn.linear_model import LogisticRegression

    raw = _rows(300, seed=5)
    other = Pipeline([*build_pipeline(Hyperparameters(n_estimators=3), 0).steps[:2], ("lr", LogisticRegression())])
    other.fit(raw, _labels(raw))
    with pytest.raises(ExportError, match="LogisticRegression"):
        export_onnx(other)
    with caplog.at_level(logging.WARNING, logger="model.onnx_export"):
        assert export_checked(other, raw, 0.4) is None
    assert "serve with scikit-learn" in caplog.text


def test_export_checked_returns_the_export_and_its_parity(pipeline: Pipeline) -> None:
    raw = _rows(500, seed=6)
    exported = export_checked(pipeline, raw, 0.4)
    assert exported is not None
    onnx_model, checked = exported
    assert checked.rows == 500
    assert checked.max_abs_diff <= 1e-5
    assert np.allclose(onnx_probabilities(onnx_model, raw), pipeline.predict_proba(raw), atol=1e-5)
