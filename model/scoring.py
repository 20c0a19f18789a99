"""Vectorised scoring of raw feature rows with a loaded model (no pandas, no I/O).

The classifier predicts one class per row: ``"none"`` or a failure mode code
(TWF, HDF, PWF, OSF, ...). One ``predict_proba`` gives both answers:

* failure probability = 1 - P("none");
* predicted mode = the most likely failure class, reported only when the failure
  probability reaches ``mode_floor`` (half the decision threshold). Below that the
  mode would be a guess among near-zero probabilities, so it is None.

    scorer = Scorer(load_model(models_dir))
    batch = scorer.score(raw_matrix(readings))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.artifact import NO_FAILURE, LoadedModel

__all__ = ["MODE_FLOOR_RATIO", "ScoreBatch", "Scorer"]

MODE_FLOOR_RATIO = 0.5


@dataclass
class ScoreBatch:
    """Scores of a batch, one entry per input row."""

    failure_probability: np.ndarray
    predicted_mode: list[str | None]


class Scorer:
    """Scores raw (n, 6) matrices with one model version."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.version = loaded.version
        self.threshold = loaded.threshold
        self.mode_floor = MODE_FLOOR_RATIO * loaded.threshold
        # Threads only slow down per-message batches of this size (measured 4-5x).
        classifier = loaded.pipeline.steps[-1][1]
        if "n_jobs" in classifier.get_params():
            classifier.set_params(n_jobs=1)
        self._pipeline = loaded.pipeline
        self._none = loaded.classes.index(NO_FAILURE)
        self._failure_columns = np.array([i for i in range(len(loaded.classes)) if i != self._none])
        self._failure_labels = [loaded.classes[i] for i in self._failure_columns]

    def score(self, raw: np.ndarray) -> ScoreBatch:
        """Failure probability and predicted mode of each raw row."""
        if len(raw) == 0:
            return ScoreBatch(np.zeros(0), [])
        proba = self._pipeline.predict_proba(raw)
        failure = np.clip(1.0 - proba[:, self._none], 0.0, 1.0)
        return ScoreBatch(failure, self._modes(proba, failure))

    def _modes(self, proba: np.ndarray, failure: np.ndarray) -> list[str | None]:
        if not self._failure_labels:
            return [None] * len(failure)
        best = np.argmax(proba[:, self._failure_columns], axis=1)
        labels = self._failure_labels
        return [labels[b] if f >= self.mode_floor else None for b, f in zip(best, failure, strict=True)]
