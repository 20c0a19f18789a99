"""Figures of the RUL and anomaly kinds, and what they cost to serve, side by side in one run.

    python -m bench.series                          # everything, about 5 minutes on 2 cores
    python -m bench.series --only rul --seeds 3     # rul, anomaly, ai4i, latency

* rul: 5-fold cross-validation over NASA's 100 FD001 engines, repeated with --seeds fold
  assignments; each held-out engine read at --draws seeded test-like cuts (true RUL 7-145
  cycles, 31+ cycles of history); RMSE and NASA's score against the TRUE RUL, the 80 %
  interval's coverage (tables from the other folds only).
* anomaly: the detector learns from the first 30 % of the training engines' lives only;
  leads and false alarms on the held-out engines, against a plain isolation forest.
* ai4i: the detector on the AI4I rows without labels, against the classifier, on the
  classifier's own validation split.
* latency: onnxruntime per row and per 256 rows against scikit-learn, and the window
  features per reading, next to today's classifier path.

Writes bench/results/series.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from common.settings import ConfigError, run_cli
from contract.profiles import builtin_profiles
from model.series import AnomalyScorer, RulScorer, SeriesFeatures
from model.series_onnx import export_mahalanobis, export_regressor
from model.windows import Window, WindowSpec
from training.series import anomaly, rul
from training.series.data import Histories, load_histories
from training.series.metrics import alarm_figures, nasa_score, rmse
from training.series.profile import SeriesProfile, series_profile
from training.series.splits import cut_rows
from training.series.train import anomaly_features, rul_features

REPO = Path(__file__).resolve().parents[1]
FD001 = REPO / "data" / "cmapss" / "train_FD001.csv"
RESULTS = Path(__file__).resolve().parent / "results" / "series.json"
SECTIONS = ("rul", "anomaly", "ai4i", "latency")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"python -m bench.series: {message} (see --help)")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="python -m bench.series", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections to run (default: all)")
    parser.add_argument("--seeds", type=int, default=5, help="fold assignments (default 5)")
    parser.add_argument("--draws", type=int, default=20, help="test-like cuts per fold assignment (default 20)")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the results")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(SECTIONS)
    if unknown:
        raise ConfigError(f"--only: unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    if args.seeds < 1 or args.draws < 1:
        raise ConfigError("--seeds and --draws must be at least 1")
    return args


# ---------------------------------------------------------------------------- RUL


def rul_section(histories: Histories, profile: SeriesProfile, seeds: int, draws: int) -> dict[str, Any]:
    assert histories.rul is not None
    true, cap = histories.rul, profile.rul_cap
    params = rul.RulParams()
    matrix = rul.feature_matrix(histories, rul_features(profile))
    last_rmse: list[float] = []
    last_score: list[float] = []
    capped: list[float] = []
    fold_rmse: list[float] = []
    coverage: list[float] = []
    width: list[float] = []
    all_rmse: list[float] = []
    all_coverage: list[float] = []
    for seed in range(seeds):
        cv = rul.cross_validate(histories, matrix, cap, params, seed)
        low, high = rul.cross_intervals(cv, true, params.coverage)
        all_rmse.append(rmse(cv.predicted, true))
        all_coverage.append(float(np.mean((low <= true) & (true <= high))))
        for draw in range(draws):
            last = cut_rows(histories.machines, true, 1000 * seed + draw)
            predicted, truth = cv.predicted[last], true[last]
            last_rmse.append(rmse(predicted, truth))
            last_score.append(float(np.sum(nasa_score(predicted, truth))))
            capped.append(rmse(predicted, np.minimum(truth, cap)))
            coverage.append(float(np.mean((low[last] <= truth) & (truth <= high[last]))))
            width.append(float(np.mean(high[last] - low[last])))
            fold_rmse.extend(
                rmse(predicted[cv.fold[last] == k], truth[cv.fold[last] == k]) for k in range(params.folds)
            )
        print(f"  rul seed {seed}: last-cycle RMSE {np.mean(last_rmse[-draws:]):.2f}", flush=True)
    return {
        "engines": len(histories.ids),
        "features": len(rul_features(profile).names),
        "runs": f"{seeds} fold assignments x {draws} cuts",
        "last_rmse": rul.spread(last_rmse),
        "last_score": rul.spread(last_score),
        "last_rmse_against_capped_target": rul.spread(capped),
        "fold_rmse": rul.spread(fold_rmse),
        "interval_coverage_last": rul.spread(coverage),
        "interval_width_last": rul.spread(width),
        "all_rows_rmse": rul.spread(all_rmse),
        "interval_coverage_all": rul.spread(all_coverage),
    }


# ---------------------------------------------------------------------------- anomaly


class _Forest:
    """scikit-learn's IsolationForest with the detector's fit/score shape (higher: more anomalous)."""

    def __init__(self, forest: Any) -> None:
        self.forest = forest

    @classmethod
    def fit(cls, rows: np.ndarray) -> _Forest:
        from sklearn.ensemble import IsolationForest

        return cls(IsolationForest(n_estimators=200, random_state=0).fit(rows))

    def score(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(-self.forest.score_samples(rows))


def anomaly_section(histories: Histories, profile: SeriesProfile, seeds: int) -> dict[str, Any]:
    assert histories.rul is not None
    ours = anomaly_features(profile)
    smoothed = SeriesFeatures(profile.inputs, WindowSpec(profile.inputs, (Window(10, ("mean",)),)), current=False)
    fraction = profile.normal_fraction
    candidates: dict[str, tuple[SeriesFeatures, Any, anomaly.AnomalyParams]] = {
        "isolation forest, mean of 10 (plain baseline), threshold = largest normal score": (
            smoothed,
            _Forest,
            anomaly.AnomalyParams(fraction, margin=1.0),
        ),
        "isolation forest, mean of 10 relative to the first 30 (our features)": (
            ours,
            _Forest,
            anomaly.AnomalyParams(fraction, margin=1.0),
        ),
        **{
            f"Mahalanobis, mean of 10 relative to the first 30, margin {m:g}{' (shipped)' if m == 4 else ''}": (
                ours,
                anomaly.Mahalanobis,
                anomaly.AnomalyParams(fraction, margin=m),
            )
            for m in (2.0, 3.0, 4.0, 6.0, 8.0)
        },
    }
    results = {}
    for name, (features, scorer, params) in candidates.items():
        matrix = rul.feature_matrix(histories, features)
        runs = []
        for seed in range(seeds):
            flagged = anomaly.cross_validate_detector(
                histories, matrix, features.spec.warmup, params, seed, scorer=scorer
            )
            runs.append(alarm_figures(histories.machines, histories.rul, flagged, params.min_lead))
        results[name] = {
            "flagged_20_before_failure": rul.spread([r.flagged_share for r in runs]),
            "median_lead": rul.spread([r.median_lead or 0.0 for r in runs]),
            "shortest_lead": min(r.min_lead_seen or 0 for r in runs),
            "engines_with_a_false_alarm_in_first_half": rul.spread([float(r.early_false_alarm_machines) for r in runs]),
            "false_alarms_per_1000_healthy": rul.spread([r.false_alarms_per_1000 for r in runs]),
        }
        print(f"  anomaly: {name}: done", flush=True)
    return {
        "engines": len(histories.ids),
        "normal_fraction": fraction,
        "runs": f"{seeds} fold assignments x 5 folds",
        "detectors": results,
    }


# ---------------------------------------------------------------------------- AI4I


def _ai4i_features(raw: np.ndarray) -> np.ndarray:
    """The profile's numeric fields and derived quantities (AI4I: temperature difference, power, wear x torque)."""
    from contract import default_profile
    from model.engineering import feature_spec

    quantities = feature_spec(default_profile()).quantities(raw)
    return np.column_stack(list(quantities.values()))


def ai4i_section(models_dir: Path) -> dict[str, Any]:
    from training.config import DEFAULT_DATA
    from training.dataset import load_dataset
    from training.modelling import Hyperparameters, split_indices
    from training.train import train

    seed = 42
    data = load_dataset(DEFAULT_DATA)
    train_rows, validation_rows = split_indices(data, Hyperparameters(), seed)
    classifier = train(DEFAULT_DATA, models_dir, seed=seed, n_jobs=1).card["metrics"]["validation"]
    confusion = classifier["confusion"]
    features = _ai4i_features(data.raw)
    truth = data.failure[validation_rows].astype(bool)
    healthy = ~truth
    result: dict[str, Any] = {
        "validation_rows": len(validation_rows),
        "failures": int(truth.sum()),
        "classifier (supervised)": {
            "failures_flagged": classifier["recall"],
            "false_alarms_per_1000_healthy": 1000 * confusion["fp"] / (confusion["fp"] + confusion["tn"]),
            "per_mode": {mode: m["recall"] for mode, m in classifier["per_mode"].items()},
        },
    }
    for name, scorer in (("Mahalanobis", anomaly.Mahalanobis), ("isolation forest", _Forest)):
        for quantile in (0.95, 0.99, 0.995):
            params = anomaly.AnomalyParams(margin=1.0, quantile=quantile)
            detector = anomaly.fit_detector(features[train_rows], params, "ai4i", scorer)
            flagged = detector.flag(features[validation_rows])
            per_mode = {}
            for i, mode in enumerate(data.modes):
                rows = data.mode_flags[validation_rows, i] & truth
                if rows.any():
                    per_mode[mode] = round(float(flagged[rows].mean()), 3)
            result[f"{name}, no labels, threshold = {quantile} quantile of the training rows"] = {
                "failures_flagged": round(float(flagged[truth].mean()), 3),
                "false_alarms_per_1000_healthy": round(1000 * float(flagged[healthy].mean()), 2),
                "per_mode": per_mode,
            }
    return result


# ---------------------------------------------------------------------------- latency


def _timed(call: Callable[[], object], repeat: int) -> float:
    """Median seconds of `repeat` calls (after one warm-up)."""
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def latency_section(histories: Histories, profile: SeriesProfile, classifier_dir: Path | None) -> dict[str, Any]:
    assert histories.rul is not None
    features = rul_features(profile)
    matrix = rul.feature_matrix(histories, features)
    regressor = rul.fit_regressor(matrix, np.minimum(histories.rul, profile.rul_cap), rul.RulParams(), seed=0)
    cv_table = rul.fit_interval(regressor.predict(matrix), histories.rul, 0.8)
    rul_scorer = RulScorer(export_regressor(regressor, features.names), cv_table)
    detector_features = anomaly_features(profile)
    detector_matrix = rul.feature_matrix(histories, detector_features)
    normal = anomaly.normal_rows(histories, profile.normal_fraction, detector_features.spec.warmup)
    detector = anomaly.fit_detector(detector_matrix[normal], anomaly.AnomalyParams(), "fd001")
    maha = detector.scorer
    onnx_detector = export_mahalanobis(maha.mean, maha.scale, maha.precision, detector_features.names)
    anomaly_scorer = AnomalyScorer(onnx_detector, detector.threshold, detector_features.spec.warmup)
    rows = matrix[:256]
    counts = np.full(256, 100)
    result: dict[str, Any] = {
        "rul_onnx_parity_max_abs_diff": float(
            np.max(np.abs(rul_scorer.predict(matrix) - np.maximum(regressor.predict(matrix), 0)))
        ),
        "anomaly_onnx_parity_max_rel_diff": float(
            np.max(
                np.abs(
                    anomaly_scorer.score(detector_matrix, counts[:1].repeat(len(detector_matrix)))[0]
                    - maha.score(detector_matrix)
                )
            )
            / detector.threshold
        ),
        "microseconds": {
            "rul onnxruntime, 1 row": _timed(lambda: rul_scorer.score(rows[:1]), 2000) * 1e6,
            "rul onnxruntime, 256 rows (per row)": _timed(lambda: rul_scorer.score(rows), 200) * 1e6 / 256,
            "rul scikit-learn, 1 row": _timed(lambda: regressor.predict(rows[:1]), 200) * 1e6,
            "rul scikit-learn, 256 rows (per row)": _timed(lambda: regressor.predict(rows), 50) * 1e6 / 256,
            "anomaly onnxruntime, 1 row": _timed(lambda: anomaly_scorer.score(detector_matrix[:1], counts[:1]), 2000)
            * 1e6,
            "anomaly onnxruntime, 256 rows (per row)": _timed(
                lambda: anomaly_scorer.score(detector_matrix[:256], counts), 200
            )
            * 1e6
            / 256,
        },
    }
    result["microseconds"] |= _window_latency(histories, features)
    if classifier_dir is not None:
        result["microseconds"] |= _classifier_latency(classifier_dir)
    return result


def _window_latency(histories: Histories, features: SeriesFeatures) -> dict[str, float]:
    """Window features per reading: one machine's state updated and read, and 256 machines read together."""
    values = histories.values
    states = [features.state() for _ in range(256)]
    for i, state in enumerate(states):
        for order in range(60):
            state.push(values[(i * 60 + order) % len(values)], order)
    single = states[0]
    orders = iter(range(1000, 10**9))
    reading = values[0]

    def one() -> None:
        single.push(reading, next(orders))
        features.rows([single])

    return {
        "window features, 1 reading (push + features)": _timed(one, 2000) * 1e6,
        "window features, 256 machines together (per reading)": _timed(lambda: features.rows(states), 200) * 1e6 / 256,
    }


def _classifier_latency(models_dir: Path) -> dict[str, float]:
    from model.artifact import load_model
    from model.scoring import ModelScorer
    from training.config import DEFAULT_DATA
    from training.dataset import load_dataset

    scorer = ModelScorer(load_model(models_dir, defer_pipeline=True))
    raw = load_dataset(DEFAULT_DATA[:1]).raw[:256]
    return {
        "today's classifier (features + onnxruntime), 1 row": _timed(lambda: scorer.score(raw[:1]), 2000) * 1e6,
        "today's classifier, 256 rows (per row)": _timed(lambda: scorer.score(raw), 200) * 1e6 / 256,
    }


# ---------------------------------------------------------------------------- report


def _print(results: dict[str, Any]) -> None:
    print(json.dumps(results, indent=2))


def main(argv: list[str] | None = None) -> int:
    args = _parse(list(sys.argv[1:] if argv is None else argv))
    only = args.only.split(",")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    profile = series_profile(builtin_profiles()["turbofan"])
    histories = load_histories(FD001, profile)
    results: dict[str, Any] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-series-") as folder:
        classifier_dir: Path | None = None
        if "rul" in only:
            print("RUL on FD001 ...", flush=True)
            results["rul"] = rul_section(histories, profile, args.seeds, args.draws)
        if "anomaly" in only:
            print("anomaly detectors on FD001 ...", flush=True)
            results["anomaly"] = anomaly_section(histories, profile, min(args.seeds, 3))
        if "ai4i" in only:
            print("AI4I: detector without labels against the classifier ...", flush=True)
            classifier_dir = Path(folder) / "models"
            results["ai4i"] = ai4i_section(classifier_dir)
        if "latency" in only:
            print("serving latency ...", flush=True)
            results["latency"] = latency_section(histories, profile, classifier_dir)
    results["seconds"] = round(time.monotonic() - started, 1)
    _print(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    run_cli(main)
