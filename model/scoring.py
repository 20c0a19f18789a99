"""Vectorised scoring of raw feature rows with a loaded model (no pandas, no I/O).

The classifier predicts one class per row: ``"none"`` or a failure mode code
(TWF, HDF, PWF, OSF, ...). One call for class probabilities gives both answers:

* failure probability = 1 - P("none");
* predicted mode = the most likely failure class, reported only when the failure
  probability reaches ``mode_floor`` (half the decision threshold). Below that the
  mode would be a guess among near-zero probabilities, so it is None.

Two engines compute the probabilities. The model's ONNX export (``model.onnx``, see
model/onnx_export.py) run by onnxruntime on one thread takes ~0.02 ms for one row and
~2 ms for 256, against ~5-10 ms per call whatever the size for scikit-learn; so a
version with an export is served by onnxruntime, with numpy feature engineering in
front. scikit-learn stays the source of truth and the fallback: without an export,
without onnxruntime, or if the export fails, the Pipeline scores (and the log says so).

    scorer = ModelScorer(load_model(models_dir, defer_pipeline=True, profile_id="ai4i-mill"))
    batch = scorer.score(scorer.spec.raw_matrix([r.values for r in readings]))

A ModelScorer computes the features of the profile its model was trained for (the card's
profile definition), so a model always sees the features it learned from.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from model.artifact import NO_FAILURE, LoadedModel, ModelError
from model.engineering import FeatureSpec, spec_of_card

__all__ = ["ENGINES", "MODE_FLOOR_RATIO", "ModelScorer", "ScoreBatch"]

log = logging.getLogger(__name__)

MODE_FLOOR_RATIO = 0.5
Engine = Literal["auto", "onnxruntime", "scikit-learn"]
ENGINES: tuple[str, ...] = ("auto", "onnxruntime", "scikit-learn")
# The export's graph names (model.onnx_export, which the worker does not import).
_INPUT, _OUTPUT, _META_CLASSES = "features", "probabilities", "forewarn.classes"

Predict = Callable[[np.ndarray], np.ndarray]


@dataclass
class ScoreBatch:
    """Scores of a batch, one entry per input row."""

    failure_probability: np.ndarray
    predicted_mode: list[str | None]


class ModelScorer:
    """Scores raw matrices (its spec's raw columns) with one model version.

    `engine` "auto" serves the ONNX export when the version has one and onnxruntime
    loads it, else scikit-learn; "onnxruntime" or "scikit-learn" force one (for parity
    tests and benchmarks); a forced onnxruntime that cannot load raises.
    """

    def __init__(self, loaded: LoadedModel, engine: Engine = "auto") -> None:
        self.version = loaded.version
        self.threshold = loaded.threshold
        self.mode_floor = MODE_FLOOR_RATIO * loaded.threshold
        self._loaded = loaded
        self.spec: FeatureSpec = spec_of_card(loaded.card)
        self.profile_id = loaded.profile_id
        expected = loaded.card.get("features")
        if expected is not None and list(expected) != list(self.spec.feature_names):
            raise ModelError(f"model {loaded.version}: its card's features differ from its profile's; refusing it")
        self._none = loaded.classes.index(NO_FAILURE)
        self._failure_columns = np.array([i for i in range(len(loaded.classes)) if i != self._none])
        self._failure_labels = [loaded.classes[i] for i in self._failure_columns]
        self.engine, self._predict = self._choose(engine)

    def _choose(self, engine: Engine) -> tuple[str, Predict]:
        if engine == "scikit-learn":
            return "scikit-learn", _sklearn_predict(self._loaded)
        try:
            predict = _onnx_predict(self._loaded)
        except _NoOnnx as why:
            if engine == "onnxruntime":
                raise ValueError(f"model {self.version}: {why}") from None
            log.warning("model %s: %s; serving with scikit-learn", self.version, why)
            return "scikit-learn", _sklearn_predict(self._loaded)
        log.info("model %s: serving with onnxruntime (one thread)", self.version)
        return "onnxruntime", predict

    def score(self, raw: np.ndarray) -> ScoreBatch:
        """Failure probability and predicted mode of each raw row."""
        if len(raw) == 0:
            return ScoreBatch(np.zeros(0), [])
        proba = self._probabilities(raw)
        failure = np.clip(1.0 - proba[:, self._none], 0.0, 1.0)
        return ScoreBatch(failure, self._modes(proba, failure))

    def _probabilities(self, raw: np.ndarray) -> np.ndarray:
        if self.engine == "scikit-learn":
            return np.asarray(self._predict(raw))
        features = self.spec.engineer(raw)  # bad rows raise here, before the engine is blamed
        try:
            return self._predict(features)
        except Exception:  # onnxruntime failing at run time: fall back for good
            log.exception("model %s: onnxruntime failed; falling back to scikit-learn", self.version)
            self.engine, self._predict = "scikit-learn", _sklearn_predict(self._loaded)
            return np.asarray(self._predict(raw))

    def _modes(self, proba: np.ndarray, failure: np.ndarray) -> list[str | None]:
        if not self._failure_labels:
            return [None] * len(failure)
        best = np.argmax(proba[:, self._failure_columns], axis=1).tolist()
        labels = self._failure_labels
        floor = self.mode_floor
        return [labels[b] if f >= floor else None for b, f in zip(best, failure.tolist(), strict=True)]


class _NoOnnx(Exception):
    """Why the ONNX engine is not available for a model."""


def _sklearn_predict(loaded: LoadedModel) -> Predict:
    pipeline = loaded.pipeline
    # Threads only slow down per-message batches of this size (measured 4-5x).
    classifier = pipeline.steps[-1][1]
    if "n_jobs" in classifier.get_params():
        classifier.set_params(n_jobs=1)
    predict: Predict = pipeline.predict_proba
    return predict


def _onnx_predict(loaded: LoadedModel) -> Predict:
    """onnxruntime on one thread over the export; takes engineered features."""
    if loaded.onnx is None:
        raise _NoOnnx("no ONNX export (trained before exports, or the export failed)")
    try:
        import onnxruntime
    except ImportError:
        raise _NoOnnx("onnxruntime is not installed") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # batches are small: threads cost more than they save
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    try:
        session = onnxruntime.InferenceSession(loaded.onnx, options, providers=["CPUExecutionProvider"])
        classes = json.loads(session.get_modelmeta().custom_metadata_map.get(_META_CLASSES, "null"))
        (single,) = session.get_inputs()
    except Exception as exc:  # a corrupt or foreign graph
        raise _NoOnnx(f"ONNX export not loadable ({type(exc).__name__}: {exc})") from None
    width = len(spec_of_card(loaded.card).feature_names)
    if classes != list(loaded.classes) or single.name != _INPUT or single.shape[1] != width:
        raise _NoOnnx(f"ONNX export does not match the model (classes {classes}, input {single.name})")
    run = session.run
    outputs = [_OUTPUT]

    def predict(features: np.ndarray) -> np.ndarray:
        return np.asarray(run(outputs, {_INPUT: features})[0], dtype=np.float64)

    return predict
