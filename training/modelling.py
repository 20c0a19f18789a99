"""The model recipe: pipeline, validation split, out-of-fold threshold choice.

One multiclass RandomForest over {"none", TWF, HDF, PWF, OSF, ...}, so a single
``predict_proba`` gives the failure probability (1 - P(none)) and the likely mode.
"Unspecified Failure" rows are left out of fitting: they look like ordinary rows
(no mode rule fires), so learning them only plants isolated false alarms; they
still count as missed failures in every metric.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from model.artifact import NO_FAILURE
from model.features import FeatureBuilder
from training.dataset import UNSPECIFIED, Dataset, DatasetError

__all__ = [
    "Hyperparameters",
    "build_pipeline",
    "choose_threshold",
    "failure_probability",
    "fit_pipeline",
    "out_of_fold_probability",
    "split_indices",
]

MIN_FAILURES = 10
THRESHOLD_GRID = np.round(np.arange(0.02, 0.981, 0.005), 3)
F1_TOLERANCE = 0.01


@dataclass(frozen=True)
class Hyperparameters:
    """Everything that shapes the model, recorded on the card."""

    n_estimators: int = 100
    max_depth: int | None = None
    min_samples_leaf: int = 1
    max_features: str = "sqrt"
    class_weight: str | None = None
    validation_fraction: float = 0.2
    cv_folds: int = 5

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def build_pipeline(params: Hyperparameters, seed: int, n_jobs: int = 1, profile_json: str | None = None) -> Pipeline:
    """An unfitted FeatureBuilder (of the profile given as JSON) -> StandardScaler -> RandomForest pipeline."""
    forest = RandomForestClassifier(
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        min_samples_leaf=params.min_samples_leaf,
        max_features=params.max_features,
        class_weight=params.class_weight,
        random_state=seed,
        n_jobs=n_jobs,
    )
    features = FeatureBuilder(profile_json)
    return Pipeline([("features", features), ("scale", StandardScaler()), ("forest", forest)])


def fit_pipeline(
    data: Dataset, params: Hyperparameters, seed: int, n_jobs: int = 1, profile_json: str | None = None
) -> Pipeline:
    """Fit on the rows with a known mode; the result predicts with n_jobs=1."""
    known = data.mode != UNSPECIFIED
    pipeline = build_pipeline(params, seed, n_jobs, profile_json)
    pipeline.fit(data.raw[known], data.mode[known].astype(str))
    # Prediction is per message batch, where threads cost more than they save.
    pipeline.set_params(forest__n_jobs=1)
    return pipeline


def failure_probability(pipeline: Pipeline, raw: np.ndarray) -> np.ndarray:
    """1 - P(none) for each raw row."""
    classes = list(pipeline.classes_)
    return np.asarray(1.0 - pipeline.predict_proba(raw)[:, classes.index(NO_FAILURE)])


def strata(data: Dataset, min_count: int) -> np.ndarray:
    """Mode labels to stratify on; modes rarer than `min_count` join the commonest failure mode."""
    labels = data.mode.astype(str)
    names, counts = np.unique(labels, return_counts=True)
    rare = names[counts < min_count]
    if rare.size == 0:
        return labels
    common = [(count, name) for name, count in zip(names, counts, strict=True) if count >= min_count]
    failures = [pair for pair in common if pair[1] != NO_FAILURE]
    target = max(failures)[1] if failures else "failure"
    return np.where(np.isin(labels, rare), target, labels)


def split_indices(data: Dataset, params: Hyperparameters, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (by mode) training and validation row indices."""
    failures = int(data.failure.sum())
    if failures < MIN_FAILURES or len(data) - failures < MIN_FAILURES:
        raise DatasetError(
            f"need at least {MIN_FAILURES} failure and {MIN_FAILURES} normal rows to train, "
            f"got {failures} and {len(data) - failures}"
        )
    rows = np.arange(len(data))
    train, validation = train_test_split(
        rows, test_size=params.validation_fraction, stratify=strata(data, 2), random_state=seed
    )
    return np.sort(train), np.sort(validation)


def out_of_fold_probability(
    data: Dataset, params: Hyperparameters, seed: int, n_jobs: int, profile_json: str | None = None
) -> np.ndarray:
    """Failure probability of each row from a model that did not see it (k-fold)."""
    folds = StratifiedKFold(params.cv_folds, shuffle=True, random_state=seed)
    result = np.zeros(len(data))
    for fit_rows, held_rows in folds.split(data.raw, strata(data, params.cv_folds)):
        pipeline = fit_pipeline(data.subset(fit_rows), params, seed, n_jobs, profile_json)
        result[held_rows] = failure_probability(pipeline, data.raw[held_rows])
    return result


def choose_threshold(truth: np.ndarray, probability: np.ndarray) -> float:
    """Threshold at the centre of the near-best F1 plateau of (out-of-fold) probabilities.

    F1 over thresholds is a broad, noisy plateau here; its exact argmax jumps between
    folds and seeds and often sits at an edge, where F1 falls off steeply. The centre
    of the run of grid thresholds within F1_TOLERANCE of the best is far more stable.
    """
    grid = THRESHOLD_GRID
    truth = truth.astype(bool)
    flagged = probability[None, :] >= grid[:, None]
    tp = (flagged & truth).sum(axis=1)
    f1 = 2 * tp / np.maximum(flagged.sum(axis=1) + truth.sum(), 1)
    best = int(np.argmax(f1))
    near = f1 >= f1[best] - F1_TOLERANCE
    low, high = best, best
    while low > 0 and near[low - 1]:
        low -= 1
    while high < len(grid) - 1 and near[high + 1]:
        high += 1
    return round(float(grid[low] + grid[high]) / 2, 4)
