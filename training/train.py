"""Train, validate and save one model version.

1. Split the rows 80/20, stratified by mode, with a fixed seed.
2. On the 80 % training part, k-fold out-of-fold probabilities choose the threshold.
3. Fit on the whole training part; score the untouched 20 % for the card's metrics.
4. Export the scaler + forest to ONNX for serving, checked against the pipeline on
   every row (model/onnx_export.py); a failed or disagreeing export is left out.
5. Save the pipeline, the export and the card; point ``current`` at the new version.

The shipped model is the one the validation metrics describe (it has not seen the
validation rows).
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import skops
from sklearn.pipeline import Pipeline

from contract import Profile, default_profile, utc_now_iso
from model.artifact import NO_FAILURE, LoadedModel, load_model, save_model
from model.drift import reference_distribution
from model.engineering import FeatureSpec, feature_spec
from model.explain import forest_arrays
from model.onnx_export import export_checked
from model.scoring import ModelScorer
from training.dataset import Dataset, load_dataset
from training.metrics import binary_metrics, score_metrics
from training.modelling import (
    Hyperparameters,
    choose_threshold,
    fit_pipeline,
    out_of_fold_probability,
    split_indices,
)

__all__ = ["TrainResult", "train"]

log = logging.getLogger(__name__)

THRESHOLD_METHOD = (
    "centre of the near-best (within 0.01) F1 plateau of k-fold out-of-fold probabilities on the training part"
)


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    version: str
    card: dict[str, Any]
    seconds: float


def train(  # noqa: PLR0917 - the CLI's options, in one place
    files: Sequence[Path],
    models_dir: Path,
    seed: int,
    n_jobs: int = 1,
    params: Hyperparameters | None = None,
    profile: Profile | None = None,
    mapping: Mapping[str, str] | None = None,
) -> TrainResult:
    """Train a model of `profile` (default: the default profile) on `files`, save it, return its card."""
    params = params or Hyperparameters()
    profile = profile or default_profile()
    spec = feature_spec(profile)
    definition = profile.to_json_dict()
    profile_json = json.dumps(definition, sort_keys=True)
    started = time.perf_counter()
    data = load_dataset(files, profile, mapping)
    train_rows, validation_rows = split_indices(data, params, seed)
    train_part, validation_part = data.subset(train_rows), data.subset(validation_rows)
    log.info("profile %s: training on %d rows, validating on %d", profile.id, len(train_part), len(validation_part))
    out_of_fold = out_of_fold_probability(train_part, params, seed, n_jobs, profile_json)
    threshold = choose_threshold(train_part.failure, out_of_fold)
    pipeline = fit_pipeline(train_part, params, seed, n_jobs, profile_json)
    metrics = {
        "validation": validate(pipeline, validation_part, threshold, definition),
        "train_out_of_fold": binary_metrics(train_part.failure, out_of_fold, threshold),
    }
    seconds = round(time.perf_counter() - started, 2)
    card = _card(
        pipeline,
        data=data,
        params=params,
        seed=seed,
        threshold=threshold,
        metrics=metrics,
        seconds=seconds,
        train_rows=len(train_part),
        spec=spec,
    )
    onnx, explainer = _serving_parts(pipeline, card, data, spec, threshold)
    version = save_model(pipeline, card, models_dir, onnx=onnx, explainer=explainer)
    log.info("saved model %s to %s", version, models_dir / version)
    # Reading it back proves the saved version loads under the worker's checks.
    return TrainResult(version, load_model(models_dir, version).card, seconds)


def validate(
    pipeline: Pipeline, data: Dataset, threshold: float, definition: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Metrics of `pipeline` on `data`, scored as the worker scores (with the pipeline itself,
    the source of truth; the ONNX export the worker serves agrees within 1e-6)."""
    classes = tuple(str(label) for label in pipeline.classes_)
    card = {} if definition is None else {"profile_definition": definition}
    scorer = ModelScorer(LoadedModel("unsaved", pipeline, card, threshold, classes), engine="scikit-learn")
    return score_metrics(data, scorer.score(data.raw), threshold)


def _card(
    pipeline: Pipeline,
    *,
    data: Dataset,
    params: Hyperparameters,
    seed: int,
    threshold: float,
    metrics: dict[str, Any],
    seconds: float,
    train_rows: int,
    spec: FeatureSpec,
) -> dict[str, Any]:
    profile = spec.profile
    return {
        "created_at": utc_now_iso(),
        "profile": {"id": profile.id, "version": profile.version},
        "profile_definition": profile.to_json_dict(),
        "raw_columns": list(spec.raw_columns),
        "features": list(spec.feature_names),
        "classes": [str(label) for label in pipeline.classes_],
        "threshold": threshold,
        "threshold_method": THRESHOLD_METHOD,
        "metrics": metrics,
        "data": {
            "files": [{"path": f.path, "sha256": f.sha256, "rows": f.rows} for f in data.files],
            "rows": len(data),
            "failures": int(data.failure.sum()),
            "train_rows": train_rows,
            "validation_rows": len(data) - train_rows,
        },
        "hyperparameters": {**params.as_dict(), "seed": seed},
        "libraries": _libraries(),
        "training_seconds": seconds,
    }


def _serving_parts(
    pipeline: Pipeline, card: dict[str, Any], data: Dataset, spec: FeatureSpec, threshold: float
) -> tuple[bytes | None, bytes]:
    """The ONNX export (None when it failed or disagreed) and the explainer the worker serves;
    the export's parity and the training distribution (for drift) are added to `card`."""
    exported = export_checked(pipeline, data.raw, threshold)
    if exported is not None:
        card["onnx"] = {"parity": exported[1].as_dict(), "libraries": _onnx_libraries()}
    first = len(spec.categories)
    sensors = {name: data.raw[:, first + i] for i, name in enumerate(spec.numeric)}
    card["training_distribution"] = reference_distribution(sensors)
    explainer = forest_arrays(pipeline, list(pipeline.classes_).index(NO_FAILURE)).to_bytes()
    return (exported[0] if exported else None), explainer


def _libraries() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "skops": skops.__version__,
    }


def _onnx_libraries() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("skl2onnx", "onnx", "onnxruntime")}
