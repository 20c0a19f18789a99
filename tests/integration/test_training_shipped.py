"""The shipped turbofan RUL model: installed where its profile has none, loaded under the worker's checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.profiles import builtin_profiles
from inference_worker.series import SeriesServer
from model.artifact import current_version
from model.series_artifact import load_series_model
from training.__main__ import main
from training.shipped import SHIPPED_DIR, install_shipped


def test_the_shipped_model_installs_once_and_serves_the_turbofan_profile(tmp_path: Path) -> None:
    [(profile_id, version)] = install_shipped(tmp_path)
    assert profile_id == "turbofan"
    assert (SHIPPED_DIR / "turbofan" / version).is_dir()
    assert current_version(tmp_path, "turbofan") == version
    model = load_series_model(tmp_path, "turbofan")
    assert (model.kind, model.card["horizon"], model.card["unit"]) == ("rul", 30.0, "cycles")
    assert model.card["metrics"]["validation"]["last_rmse"]["mean"] <= 13.0  # issue 16's figure
    server = SeriesServer.from_model(model, builtin_profiles()["turbofan"])
    assert server.reference is not None  # explanations by contribution
    assert install_shipped(tmp_path) == []  # a profile with a model keeps it


def test_install_shipped_keeps_a_trained_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "current-turbofan").write_text("0123456789ab\n")
    assert main(["install-shipped", "--models-dir", str(tmp_path)]) == 0
    assert "already has a model" in capsys.readouterr().out
    assert current_version(tmp_path, "turbofan") == "0123456789ab"


def test_evaluating_a_model_as_another_profiles_is_one_line_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [(_profile, version)] = install_shipped(tmp_path)
    data = str(SHIPPED_DIR.parent / "slave1_data.csv")
    assert main(["evaluate", "--profile", "ai4i-mill", "--models-dir", str(tmp_path), "--version", version, data]) == 1
    error = capsys.readouterr().err
    assert error == f"error: model {version} is for profile 'turbofan', not 'ai4i-mill'; refusing to serve it\n"
