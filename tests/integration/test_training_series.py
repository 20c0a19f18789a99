"""RUL and anomaly models end to end on a subset of NASA's FD001: training, cards, ONNX, evaluation, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contract.profiles import builtin_profiles
from contract.registry import add_profile
from model.artifact import ModelError
from model.series import RulScorer
from model.series_artifact import ONNX_FILE, load_series_model
from training.__main__ import main
from training.series.anomaly import AnomalyParams
from training.series.data import load_histories
from training.series.evaluate import evaluate_series
from training.series.profile import SeriesProfile, series_profile
from training.series.rul import RulParams, feature_matrix
from training.series.train import SeriesTrainResult, train_series

REPO_ROOT = Path(__file__).resolve().parents[2]
FD001 = REPO_ROOT / "data" / "cmapss" / "train_FD001.csv"
PROFILE = REPO_ROOT / "profiles" / "turbofan.yaml"
FAST_RUL = RulParams(max_iter=60, folds=4, cut_draws=3)


@pytest.fixture(scope="module")
def profile() -> SeriesProfile:
    return series_profile(builtin_profiles()["turbofan"])


@pytest.fixture(scope="module")
def engines() -> pd.DataFrame:
    return pd.read_csv(FD001)


@pytest.fixture(scope="module")
def subset_csv(engines: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Engines 1-20, run to failure, in exactly train_FD001.csv's format."""
    path = tmp_path_factory.mktemp("fd001") / "train_subset.csv"
    engines[engines["unit"] <= 20].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cut_csv(engines: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Engines 81-100 cut before failure at seeded points, with their true RUL: like NASA's test set."""
    rng = np.random.default_rng(16)
    parts = []
    for _, engine in engines[engines["unit"] > 80].groupby("unit"):
        life = len(engine)
        keep = life - min(int(rng.integers(7, 146)), life - 31)
        part = engine.iloc[:keep].copy()
        part["rul"] = life - part["cycle"]
        parts.append(part)
    path = tmp_path_factory.mktemp("fd001") / "test_cut.csv"
    pd.concat(parts).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def rul_model(subset_csv: Path, profile: SeriesProfile, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("rul-models")
    result = train_series(subset_csv, profile, "rul", folder, seed=1, rul_params=FAST_RUL)
    return folder, result.version


@pytest.fixture(scope="module")
def anomaly_result(
    subset_csv: Path, profile: SeriesProfile, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, SeriesTrainResult]:
    folder = tmp_path_factory.mktemp("anomaly-models")
    return folder, train_series(subset_csv, profile, "anomaly", folder, seed=1, anomaly_params=AnomalyParams(folds=4))


def test_rul_card_records_kind_profile_features_and_figures(rul_model: tuple[Path, str], engines: pd.DataFrame) -> None:
    folder, version = rul_model
    model = load_series_model(folder, "turbofan")
    card = model.card
    assert model.version == version
    assert (card["kind"], card["profile"], card["unit"], card["cap"]) == (
        "rul",
        {"id": "turbofan", "version": 1},
        "cycles",
        125.0,
    )
    assert card["features"]["features"] == list(model.features.names)
    assert card["features"]["features"][:2] == ["t24", "t30"]
    assert "t24_slope_all" in card["features"]["features"]
    assert (card["data"]["rows"], card["data"]["machines"]) == (int((engines["unit"] <= 20).sum()), 20)
    assert "run-to-failure" in card["data"]["truth"]
    validation = card["metrics"]["validation"]
    assert validation["machines"] == 20
    assert 0 < validation["last_rmse"]["mean"] < 60
    assert len(validation["fold_last_rmse"]) == 4
    assert 0 <= validation["last_coverage"] <= 1
    assert len(card["interval"]["low"]) == len(card["interval"]["edges"]) + 1
    assert card["onnx"]["parity"]["max_abs_diff"] < 1e-3
    assert set(card["sources"]) == {"source.skops"}


def test_rul_onnx_agrees_with_scikit_learn_on_unseen_engines(
    rul_model: tuple[Path, str], cut_csv: Path, profile: SeriesProfile
) -> None:
    import skops.io

    folder, version = rul_model
    model = load_series_model(folder, "turbofan")
    data = (folder / version / "source.skops").read_bytes()
    regressor = skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))
    matrix = feature_matrix(load_histories(cut_csv, profile), model.features)
    scorer = model.scorer()
    assert isinstance(scorer, RulScorer)
    expected = np.maximum(regressor.predict(matrix), 0.0)
    assert np.max(np.abs(scorer.predict(matrix) - expected)) < 1e-3


def test_serving_reading_by_reading_matches_the_evaluation(
    rul_model: tuple[Path, str], cut_csv: Path, profile: SeriesProfile
) -> None:
    """The worker's path: one state per machine, readings pushed in order, scored together."""
    folder, _ = rul_model
    model = load_series_model(folder, "turbofan")
    histories = load_histories(cut_csv, profile)
    batch = feature_matrix(histories, model.features)
    states = {machine: model.features.state() for machine in histories.ids}
    readings = [
        (states[machine], values, order)
        for machine, order, values in zip(histories.machines, histories.order, histories.values, strict=True)
    ]
    rows = [model.features.push_rows(readings[i : i + 64])[0] for i in range(0, len(readings), 64)]
    assert np.array_equal(np.vstack(rows), batch)


def test_evaluate_a_file_in_fd001_format_with_a_rul_column(
    rul_model: tuple[Path, str], cut_csv: Path, profile: SeriesProfile
) -> None:
    folder, version = rul_model
    evaluation = evaluate_series(cut_csv, profile, folder)
    figures = evaluation.figures
    assert (evaluation.version, evaluation.kind, evaluation.truth) == (version, "rul", "the rul column")
    assert figures["machines"] == 20
    assert figures["rows"] == len(pd.read_csv(cut_csv))
    assert 0 < figures["last_rmse"] < 60
    assert figures["last_score"] > 0
    assert 0 <= figures["coverage_last"] <= 1
    assert not evaluation.seen_in_training


def test_a_model_of_another_profile_is_refused(rul_model: tuple[Path, str]) -> None:
    folder, version = rul_model
    with pytest.raises(ModelError, match="is for profile 'turbofan', not 'pump'"):
        load_series_model(folder, "pump", version)


def test_a_tampered_export_is_refused(rul_model: tuple[Path, str], tmp_path: Path) -> None:
    folder, version = rul_model
    copy = tmp_path / version
    copy.mkdir()
    for item in (folder / version).iterdir():
        (copy / item.name).write_bytes(item.read_bytes())
    (copy / ONNX_FILE).write_bytes((copy / ONNX_FILE).read_bytes() + b"\0")
    with pytest.raises(ModelError, match="does not match its card"):
        load_series_model(tmp_path, "turbofan", version)


def test_anomaly_detector_learns_from_the_start_of_life_only(
    anomaly_result: tuple[Path, SeriesTrainResult], cut_csv: Path, profile: SeriesProfile
) -> None:
    folder, result = anomaly_result
    card = result.card
    assert card["kind"] == "anomaly"
    assert card["warmup"] == 30
    assert card["threshold"] > 0
    assert "4 x the 1 quantile" in card["threshold_method"]
    assert card["features"]["features"][0] == "t24_mean10_b30"
    assert not card["features"]["current"]
    assert card["onnx"]["parity"]["max_abs_diff"] < 1e-6 * card["threshold"]
    validation = card["metrics"]["validation"]
    assert validation["machines"] == 20
    assert validation["flagged_share"] > 0.5
    evaluation = evaluate_series(cut_csv, profile, folder, lead=20)
    assert evaluation.kind == "anomaly"
    assert evaluation.figures["machines"] == 20
    assert evaluation.figures["undecided"] + sum(v is not None for v in evaluation.figures["leads"].values()) >= 15


def _cli(*args: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FOREWARN_VAR_DIR": str(var_dir), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "training", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_trains_into_var_and_evaluates(subset_csv: Path, cut_csv: Path, tmp_path: Path) -> None:
    trained = _cli("--profile", "turbofan", "--data", str(subset_csv), "--kind", "anomaly", var_dir=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "anomaly model" in trained.stdout
    assert "validation on held-out machines" in trained.stdout
    assert (tmp_path / "models" / "current-turbofan").exists()
    evaluated = _cli("evaluate", "--profile", "turbofan", str(cut_csv), var_dir=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "truth from the rul column" in evaluated.stdout
    assert "flagged 20+ readings before failure" in evaluated.stdout


def _one_line_error(capsys: pytest.CaptureFixture[str], code: int, expected: str) -> None:
    err = capsys.readouterr().err
    assert code == 1
    assert expected in err
    assert err.count("\n") == 1, err


def test_training_data_without_the_profiles_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["--profile", "turbofan", "--data", str(REPO_ROOT / "data" / "slave1_data.csv"), "--models-dir", str(tmp_path)]
    )
    _one_line_error(capsys, code, "slave1_data.csv: missing column(s) unit, cycle, T24")


def test_a_rul_file_without_run_to_failure_histories(
    engines: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    never_fails = engines[engines["unit"] <= 6].copy()
    never_fails["failure"] = 0
    path = tmp_path / "no_failures.csv"
    never_fails.to_csv(path, index=False)
    code = main(["--profile", "turbofan", "--data", str(path), "--models-dir", str(tmp_path)])
    _one_line_error(capsys, code, "machine 1 does not fail at its last reading (failure is 0)")
    snapshots = engines.groupby("unit").head(1)  # one reading per engine: no history at all
    path = tmp_path / "snapshots.csv"
    snapshots.to_csv(path, index=False)
    code = main(["--profile", "turbofan", "--data", str(path), "--models-dir", str(tmp_path)])
    _one_line_error(capsys, code, "machine 1 has a single reading: a RUL model learns from run-to-failure histories")


def test_an_anomaly_set_with_too_few_rows(
    engines: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "five_engines.csv"
    engines[engines["unit"] <= 5].to_csv(path, index=False)
    code = main(["--profile", "turbofan", "--data", str(path), "--kind", "anomaly", "--models-dir", str(tmp_path)])
    _one_line_error(capsys, code, "normal rows to learn from; an anomaly detector on 14 features needs at least 200")


def test_evaluate_without_a_model_or_with_another_profiles_model(
    rul_model: tuple[Path, str],
    cut_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = main(["evaluate", "--profile", "turbofan", str(cut_csv), "--models-dir", str(tmp_path)])
    _one_line_error(capsys, code, "no model for profile turbofan")
    other = tmp_path / "turbine.yaml"
    other.write_text(PROFILE.read_text().replace("id: turbofan", "id: turbine"))
    registry = tmp_path / "registry"
    add_profile(registry, other)
    monkeypatch.setenv("FOREWARN_REGISTRY_DIR", str(registry))
    folder, version = rul_model
    code = main(["evaluate", "--profile", "turbine", str(cut_csv), "--models-dir", str(folder), "--version", version])
    _one_line_error(capsys, code, "is for profile 'turbofan', not 'turbine'; refusing to serve it")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--profile", "no-such-machine", "--data", "x.csv"], "--profile 'no-such-machine': no such profile"),
        (["--profile", "turbofan"], "--profile turbofan: give its training data with --data FILE"),
        (["--profile", "turbofan", "--data", "a.csv", "b.csv"], "--kind rul: give one file of machine histories"),
        (["--profile", "turbofan", "--data", "x.csv", "--kind", "oracle"], "argument --kind: invalid choice: 'oracle'"),
        (["evaluate", "--profile", "turbofan", "x.csv", "--lead", "-3"], "--lead -3 must be at least 0"),
        (["evaluate", "--profile", "turbofan"], "the following arguments are required: FILE.csv"),
    ],
)
def test_bad_profile_kind_or_map_is_one_line(argv: list[str], message: str) -> None:
    from common.settings import ConfigError

    with pytest.raises(ConfigError) as caught:
        main(argv)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_classifier_profile_cannot_train_a_series_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--profile", "turbofan", "--data", str(FD001), "--map", "T24", "--models-dir", str(tmp_path)])
    _one_line_error(capsys, code, "--map 'T24': expected COLUMN=field")
    code = main(["--profile", "ai4i-mill", "--data", str(FD001), "--kind", "rul", "--models-dir", str(tmp_path)])
    _one_line_error(capsys, code, "profile ai4i-mill: a rul or anomaly model needs `model.order`")
