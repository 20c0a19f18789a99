"""The drift report compares recent readings with the model card's training distribution."""

# mypy: disable-error-code="index"

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from api import create_app, runtime_of
from model.drift import reference_distribution
from tests.support.api import database_url_fixture, feed, prediction, test_config  # noqa: F401  (fixtures)


def _models_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    columns = {
        "air_temp_k": rng.normal(300, 2, 5000),
        "process_temp_k": rng.normal(310, 1.5, 5000),
        "rotational_speed_rpm": rng.normal(1500, 150, 5000),
        "torque_nm": rng.normal(40, 10, 5000),
        "tool_wear_min": rng.uniform(0, 240, 5000),
    }
    folder = tmp_path / "models"
    (folder / "v1").mkdir(parents=True)
    (folder / "v1" / "card.json").write_text(json.dumps({"training_distribution": reference_distribution(columns)}))
    (folder / "current").write_text("v1\n")
    return folder


def _rows(count: int, rng: np.random.Generator, **fixed: float) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        values: dict[str, Any] = {
            "air_temp_k": round(float(rng.normal(300, 2)), 1),
            "process_temp_k": round(float(rng.normal(310, 1.5)), 1),
            "rotational_speed_rpm": 1500.0,  # a constant where training varied
            "torque_nm": round(float(rng.normal(60, 5)), 1),
            "tool_wear_min": float(rng.integers(0, 240)),
        }
        rows.append(prediction("m1", f"r{i}", values=values | fixed))
    return rows


def test_a_sensor_far_from_the_training_data_is_reported_significant(database_url: str, tmp_path: Path) -> None:
    app = create_app(test_config(database_url, models_dir=_models_dir(tmp_path)))
    try:
        feed(app, predictions=_rows(500, np.random.default_rng(4)))
        body = app.test_client().get("/api/drift?machine=m1&limit=500").json
        levels = {f["feature"]: (f["level"], f["basis"]) for f in body["features"]}
        assert body["model_version"] == "v1"
        assert body["window"] == 500
        assert body["pending"] == []
        assert levels["torque_nm"] == ("significant", "distribution")
        assert levels["air_temp_k"] == ("stable", "distribution")
        assert levels["rotational_speed_rpm"] == ("significant", "distribution")
    finally:
        runtime_of(app).stop()


def test_too_few_readings_are_not_judged_but_out_of_range_ones_are(database_url: str, tmp_path: Path) -> None:
    app = create_app(test_config(database_url, models_dir=_models_dir(tmp_path)))
    try:
        feed(app, predictions=_rows(150, np.random.default_rng(5), air_temp_k=330.0))
        body = app.test_client().get("/api/drift?machine=m1&limit=150").json
        (judged,) = body["features"]  # air at 330 K: outside anything the training rows held
        assert (judged["feature"], judged["level"], judged["basis"], judged["outside"]) == (
            "air_temp_k",
            "significant",
            "range",
            1.0,
        )
        pending = {p["feature"]: (p["readings"], p["needed"]) for p in body["pending"]}
        assert set(pending) == {"process_temp_k", "rotational_speed_rpm", "torque_nm", "tool_wear_min"}
        assert all(readings == 150 and needed > 150 for readings, needed in pending.values())
    finally:
        runtime_of(app).stop()


def test_without_a_model_or_its_distribution_the_report_says_why(database_url: str, tmp_path: Path) -> None:
    app = create_app(test_config(database_url))
    try:
        body = app.test_client().get("/api/drift").json
        assert body["features"] == []
        assert body["reason"].startswith("no model of profile ai4i-mill is in service")
    finally:
        runtime_of(app).stop()
    models = tmp_path / "bare-models"
    (models / "v0").mkdir(parents=True)
    (models / "v0" / "card.json").write_text(json.dumps({"threshold": 0.5}))  # trained before drift reports
    (models / "current").write_text("v0\n")
    app = create_app(test_config(database_url, models_dir=models))
    try:
        body = app.test_client().get("/api/drift").json
        assert body["model_version"] == "v0"
        assert "training distribution" in body["reason"]
    finally:
        runtime_of(app).stop()
