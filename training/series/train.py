"""Train, validate and save a RUL or anomaly model for a profile.

RUL: cross-validation over whole machines gives the figures and the interval table,
then the model is refit on every machine (training/series/rul.py). Anomaly: out-of-fold
alarms on held-out machines give the figures, then the detector is fit on every
machine's normal rows (training/series/anomaly.py). Either way the ONNX export must
agree with its source on every training row, or nothing is saved.
"""

from __future__ import annotations

import io
import logging
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contract import utc_now_iso
from model.series import SeriesFeatures
from model.series_artifact import load_series_model, save_series_model
from model.series_onnx import MAX_RUL_DIFF, export_mahalanobis, export_regressor, parity
from training.series import anomaly, rul
from training.series.data import DataError, Histories, load_histories
from training.series.profile import SeriesProfile

__all__ = ["SeriesTrainResult", "anomaly_features", "rul_features", "train_series"]

log = logging.getLogger(__name__)

MAX_SCORE_DIFF = 1e-6  # relative: the Mahalanobis graph runs in float64 like numpy


@dataclass(frozen=True)
class SeriesTrainResult:
    version: str
    card: dict[str, Any]
    seconds: float


def rul_features(profile: SeriesProfile) -> SeriesFeatures:
    return SeriesFeatures(profile.inputs, profile.windows)


def anomaly_features(profile: SeriesProfile) -> SeriesFeatures:
    return SeriesFeatures(profile.inputs, profile.anomaly_windows or profile.windows, current=False)


def train_series(
    data: Path,
    profile: SeriesProfile,
    kind: str,
    models_dir: Path,
    *,
    seed: int,
    mapping: Mapping[str, str] | None = None,
    rul_params: rul.RulParams | None = None,
    anomaly_params: anomaly.AnomalyParams | None = None,
) -> SeriesTrainResult:
    """Train a `kind` model on `data` for `profile`, save it under `models_dir`, return its card."""
    started = time.perf_counter()
    histories = load_histories(data, profile, mapping)
    log.info("%s: %d rows of %d machines (%s)", data, len(histories), len(histories.ids), histories.rul_source)
    if kind == "rul":
        card, onnx, sources = _train_rul(histories, profile, rul_params or rul.RulParams(), seed)
    elif kind == "anomaly":
        params = anomaly_params or anomaly.AnomalyParams(profile.normal_fraction, profile.anomaly_margin)
        card, onnx, sources = _train_anomaly(histories, profile, params, seed)
    else:
        raise ValueError(f"not a time-series model kind: {kind!r}")
    seconds = round(time.perf_counter() - started, 2)
    card |= _common_card(histories, profile, seed, seconds)
    version = save_series_model(card, onnx, models_dir, sources)
    log.info("saved %s model %s to %s", kind, version, models_dir / version)
    # Reading it back proves the saved version loads under the worker's checks.
    return SeriesTrainResult(version, load_series_model(models_dir, profile.id, version).card, seconds)


def _train_rul(
    histories: Histories, profile: SeriesProfile, params: rul.RulParams, seed: int
) -> tuple[dict[str, Any], bytes, dict[str, bytes]]:
    rul.check_histories(histories, params.folds)
    assert histories.rul is not None
    features = rul_features(profile)
    matrix = rul.feature_matrix(histories, features)
    cv = rul.cross_validate(histories, matrix, profile.rul_cap, params, seed)
    validation = rul.cut_figures(histories, cv, profile.rul_cap, params, seed=seed)
    interval = rul.fit_interval(cv.predicted, histories.rul, params.coverage)
    model = rul.fit_regressor(matrix, np.minimum(histories.rul, profile.rul_cap), params, seed)
    onnx = export_regressor(model, features.names)
    checked = parity(onnx, model.predict(matrix), matrix)
    if checked.max_abs_diff > MAX_RUL_DIFF:
        raise DataError(f"the ONNX export differs from the model by {checked.max_abs_diff:.3g} cycles; not saved")
    card = {
        "kind": "rul",
        "unit": profile.rul_unit,
        "horizon": profile.horizon,
        "target": f"true RUL capped at {profile.rul_cap:g} {profile.rul_unit}",
        "cap": profile.rul_cap,
        "interval": interval.to_card(),
        "interval_method": "split-conformal per band of predicted RUL on out-of-fold residuals (true RUL)",
        "features": features.to_card(),
        "reference": reference_card(matrix[histories.rul >= profile.rul_cap], "rows at or above the cap"),
        "model": "HistGradientBoostingRegressor",
        "hyperparameters": {**params.as_dict(), "seed": seed},
        "metrics": {"validation": validation},
        "onnx": {"parity": checked.as_dict(), "libraries": _onnx_libraries()},
    }
    return card, onnx, {"source.skops": _skops(model)}


def _train_anomaly(
    histories: Histories, profile: SeriesProfile, params: anomaly.AnomalyParams, seed: int
) -> tuple[dict[str, Any], bytes, dict[str, bytes]]:
    features = anomaly_features(profile)
    warmup = features.spec.warmup
    if len(histories.ids) < params.folds:
        raise DataError(
            f"{histories.source}: {len(histories.ids)} machine(s); validating a detector on held-out machines "
            f"over {params.folds} folds needs at least {params.folds}"
        )
    matrix = rul.feature_matrix(histories, features)
    normal = anomaly.normal_rows(histories, params.normal_fraction, warmup)
    detector = anomaly.fit_detector(matrix[normal], params, histories.source)
    flagged = anomaly.cross_validate_detector(histories, matrix, warmup, params, seed)
    scorer = detector.scorer
    onnx = export_mahalanobis(scorer.mean, scorer.scale, scorer.precision, features.names)
    expected = scorer.score(matrix)
    checked = parity(onnx, expected, matrix)
    if checked.max_abs_diff > MAX_SCORE_DIFF * max(1.0, float(np.max(np.abs(expected)))):
        raise DataError(f"the ONNX export differs from the detector by {checked.max_abs_diff:.3g}; not saved")
    card = {
        "kind": "anomaly",
        "threshold": detector.threshold,
        "threshold_method": f"{params.margin:g} x the {params.quantile:g} quantile of the normal rows' own scores",
        "warmup": warmup,
        "normal_rows": detector.normal_rows,
        "score": "squared Mahalanobis distance from the normal rows (Ledoit-Wolf covariance)",
        "features": features.to_card(),
        "reference": reference_card(matrix[normal], "the normal training rows"),
        "hyperparameters": {**params.as_dict(), "seed": seed},
        "metrics": {"validation": anomaly.detector_figures(histories, flagged, params)},
        "onnx": {"parity": checked.as_dict(), "libraries": _onnx_libraries()},
    }
    buffer = io.BytesIO()
    np.savez(buffer, mean=scorer.mean, scale=scorer.scale, precision=scorer.precision)
    return card, onnx, {"source.npz": buffer.getvalue()}


def reference_card(rows: np.ndarray, which: str) -> dict[str, Any]:
    """Each feature's mean and sd over healthy rows: the worker explains a prediction by them.

    A feature's contribution to a prediction is what the model's output loses when that
    feature alone is set back to its healthy mean (inference_worker/series.py).
    """
    if len(rows) == 0:
        raise DataError("no healthy rows to take the features' reference from")
    return {
        "rows": which,
        "count": len(rows),
        "mean": [round(float(v), 6) for v in rows.mean(axis=0)],
        "sd": [round(float(v), 6) for v in rows.std(axis=0)],
    }


def _common_card(histories: Histories, profile: SeriesProfile, seed: int, seconds: float) -> dict[str, Any]:
    return {
        "created_at": utc_now_iso(),
        "profile": profile.as_card(),
        "order": profile.order,
        "data": {
            "file": histories.source,
            "sha256": histories.sha256,
            "rows": len(histories),
            "machines": len(histories.ids),
            "truth": histories.rul_source,
        },
        "seed": seed,
        "libraries": _libraries(),
        "training_seconds": seconds,
    }


def _skops(model: Any) -> bytes:
    import zipfile

    import skops.io

    return bytes(skops.io.dumps(model, compression=zipfile.ZIP_DEFLATED))


def _libraries() -> dict[str, str]:
    import sklearn

    return {"python": platform.python_version(), "sklearn": sklearn.__version__, "numpy": np.__version__}


def _onnx_libraries() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("onnx", "onnxruntime")}
