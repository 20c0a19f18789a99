"""Remaining useful life and anomaly scores in the API, on each database (issue 16).

Predictions of a RUL model (rul with its interval, unit and horizon) and of an anomaly
detector (score and threshold) are stored beside a classifier's, served as the machine's
latest prediction, in its history (raw, bucketed from rows, bucketed from the minute rollup),
in the log and the CSV export; alerts of kind `rul` and `anomaly` keep their figures.
"""

# response.json is "Any | None" to mypy: indexing it is what these tests do
# mypy: disable-error-code="index"

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from flask import Flask

from tests.support.api import (  # noqa: F401  (fixtures)
    alert,
    api_app_fixture,
    at,
    database_url_fixture,
    feed,
    fresh_now_fixture,
    iso,
    prediction,
    test_now,
)

MODEL_KEYS = ("rul", "rul_low", "rul_high", "anomaly_score")


def rul_prediction(machine: str, n: int, ts: str, rul: float, horizon: float = 30.0) -> dict[str, Any]:
    """A RUL model's verdict on cycle `n`, as the worker publishes it: no probability, a life and its interval."""
    return prediction(
        machine, f"c{n:05d}", ts,
        model_kind="rul", rul=rul, rul_low=rul - 5.0, rul_high=rul + 7.0, rul_unit="cycles", rul_horizon=horizon,
        status="predictive" if rul < horizon else "normal",
        failure_probability=None, threshold=None, model_version="rul-0001",
    )  # fmt: skip


def anomaly_prediction(machine: str, n: int, ts: str, score: float, threshold: float = 4.0) -> dict[str, Any]:
    return prediction(
        machine, f"a{n:05d}", ts,
        model_kind="anomaly", anomaly_score=score, anomaly_threshold=threshold,
        status="predictive" if score > threshold else "normal",
        failure_probability=None, threshold=None, model_version="anom-0001",
    )  # fmt: skip


def test_the_latest_prediction_of_a_rul_and_an_anomaly_machine_carries_their_figures(api_app: Flask) -> None:
    feed(
        api_app,
        predictions=[
            rul_prediction("engine-1", 1, at(20), 80.0),
            rul_prediction("engine-1", 2, at(10), 24.5),
            anomaly_prediction("pump-1", 1, at(10), 9.25),
            prediction("mill-1", "r1", at(10)),
        ],
    )
    client = api_app.test_client()
    engine = client.get("/api/machines/engine-1").json
    assert engine["status"] == "predictive"
    latest = engine["latest"]
    assert (latest["model_kind"], latest["rul"], latest["rul_low"], latest["rul_high"]) == ("rul", 24.5, 19.5, 31.5)
    assert (latest["rul_unit"], latest["rul_horizon"], latest["failure_probability"]) == ("cycles", 30.0, None)
    assert engine["counts"] == {"readings": 2, "predictive": 1, "failure": 0}
    pump = client.get("/api/machines/pump-1").json["latest"]
    assert (pump["model_kind"], pump["anomaly_score"], pump["anomaly_threshold"], pump["rul"]) == (
        "anomaly", 9.25, 4.0, None,
    )  # fmt: skip
    mill = client.get("/api/machines/mill-1").json["latest"]
    assert (mill["model_kind"], mill["rul"], mill["anomaly_score"]) == ("classifier", None, None)
    listed = {m["machine_id"]: m for m in client.get("/api/machines").json["machines"]}
    assert listed["engine-1"]["latest"]["rul"] == 24.5
    one = client.get("/api/readings/engine-1/c00002").json
    assert (one["rul"], one["rul_horizon"]) == (24.5, 30.0)


def test_history_points_carry_the_rul_its_interval_and_the_anomaly_score(api_app: Flask) -> None:
    feed(
        api_app,
        predictions=[
            *(rul_prediction("engine-2", n, at(100 - n), 60.0 - n) for n in range(10)),
            *(anomaly_prediction("pump-2", n, at(100 - n), float(n)) for n in range(10)),
        ],
    )
    client = api_app.test_client()
    raw = client.get("/api/machines/engine-2/history?limit=10").json
    assert raw["downsampled"] is False
    assert [p["rul"] for p in raw["points"]] == [60.0 - n for n in range(10)]
    assert [(p["rul_low"], p["rul_high"]) for p in raw["points"][:2]] == [(55.0, 67.0), (54.0, 66.0)]
    assert {p["anomaly_score"] for p in raw["points"]} == {None}
    assert {p["failure_probability"] for p in raw["points"]} == {None}

    # buckets narrower than a minute: averaged from the rows (rul) and the highest score
    buckets = client.get("/api/machines/engine-2/history?limit=5").json
    assert buckets["downsampled"] is True
    assert [p["rul"] for p in buckets["points"]] == [59.5, 57.5, 55.5, 53.5, 51.5]
    assert [p["rul_low"] for p in buckets["points"]] == [54.5, 52.5, 50.5, 48.5, 46.5]
    assert [p["rul_high"] for p in buckets["points"]] == [66.5, 64.5, 62.5, 60.5, 58.5]
    scores = client.get("/api/machines/pump-2/history?limit=5").json["points"]
    assert [p["anomaly_score"] for p in scores] == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert [p["status"] for p in scores] == ["normal", "normal", "predictive", "predictive", "predictive"]
    assert {p["rul"] for p in scores} == {None}


def test_long_windows_take_the_rul_means_and_the_top_score_from_the_minute_rollup(api_app: Flask) -> None:
    hour = test_now().replace(minute=0, second=0) - timedelta(hours=11)
    engine = [
        rul_prediction("engine-3", k, iso(hour + timedelta(minutes=k, seconds=30)), 700.0 - k) for k in range(600)
    ]
    pump = [
        anomaly_prediction("pump-3", k, iso(hour + timedelta(minutes=k, seconds=30)), (k % 60) / 10) for k in range(600)
    ]
    classifier = [prediction("mill-3", f"r{k}", iso(hour + timedelta(minutes=k, seconds=30))) for k in range(120)]
    feed(api_app, predictions=[*engine, *pump, *classifier])
    feed(api_app, predictions=engine[:60])  # redelivered: counted once
    client = api_app.test_client()
    since = iso(hour)
    points = client.get(f"/api/machines/engine-3/history?since={since}&limit=10").json["points"]
    assert len(points) == 10  # hour-wide buckets
    assert [p["rul"] for p in points] == [670.5 - 60 * b for b in range(10)]
    assert [p["rul_low"] for p in points] == [665.5 - 60 * b for b in range(10)]
    assert [p["rul_high"] for p in points] == [677.5 - 60 * b for b in range(10)]
    assert [p["status"] for p in points] == ["normal"] * 10
    scored = client.get(f"/api/machines/pump-3/history?since={since}&limit=10").json["points"]
    assert [p["anomaly_score"] for p in scored] == [5.9] * 10
    assert [p["status"] for p in scored] == ["predictive"] * 10
    plain = client.get(f"/api/machines/mill-3/history?since={since}&limit=2").json["points"]
    assert [[p[key] for key in MODEL_KEYS] for p in plain] == [[None] * 4] * 2


def test_alerts_of_kind_rul_and_anomaly_keep_their_figures(api_app: Flask) -> None:
    feed(
        api_app,
        predictions=[rul_prediction("engine-4", 1, at(10), 24.0), anomaly_prediction("pump-4", 1, at(10), 9.0)],
        alerts=[
            alert("engine-4", "engine-4-rul-c00001", kind="rul", severity="warning", rul=24.0, rul_unit="cycles",
                  failure_probability=None, predicted_mode=None, reading_id="c00001",
                  message="engine-4 entered its horizon: ~24 cycles left"),
            alert("pump-4", "pump-4-anomaly-a00001", kind="anomaly", severity="warning", anomaly_score=9.0,
                  anomaly_threshold=4.0, failure_probability=None, predicted_mode=None, reading_id="a00001",
                  message="anomaly on pump-4"),
        ],
    )  # fmt: skip
    client = api_app.test_client()
    listed = {a["kind"]: a for a in client.get("/api/alerts?state=open").json["alerts"]}
    assert (listed["rul"]["rul"], listed["rul"]["rul_unit"], listed["rul"]["anomaly_score"]) == (24.0, "cycles", None)
    assert (listed["anomaly"]["anomaly_score"], listed["anomaly"]["anomaly_threshold"]) == (9.0, 4.0)
    engine = client.get("/api/machines/engine-4").json
    assert [(a["kind"], a["rul"]) for a in engine["open_alerts"]] == [("rul", 24.0)]


def test_the_export_has_the_model_outputs_as_columns(api_app: Flask) -> None:
    feed(
        api_app,
        predictions=[
            rul_prediction("engine-5", 1, at(30), 41.0),
            anomaly_prediction("pump-5", 1, at(20), 2.5),
            prediction("mill-5", "r1", at(10)),
        ],
    )
    text = api_app.test_client().get("/api/export.csv").text
    rows = {row["machine_id"]: row for row in csv.DictReader(io.StringIO(text))}
    header = text.splitlines()[0].split(",")
    assert header[header.index("failure_description") + 1 : header.index("schema_version")] == [
        "model_kind", "rul", "rul_low", "rul_high", "rul_unit", "rul_horizon", "anomaly_score", "anomaly_threshold",
    ]  # fmt: skip
    engine = rows["engine-5"]
    assert (engine["model_kind"], engine["rul"], engine["rul_low"], engine["rul_high"]) == (
        "rul",
        "41.0",
        "36.0",
        "48.0",
    )
    assert (engine["rul_unit"], engine["rul_horizon"], engine["anomaly_score"]) == ("cycles", "30.0", "")
    assert (rows["pump-5"]["model_kind"], rows["pump-5"]["anomaly_score"]) == ("anomaly", "2.5")
    assert (rows["mill-5"]["model_kind"], rows["mill-5"]["rul"]) == ("classifier", "")


def test_a_machine_whose_windows_warm_up_is_unscored_with_its_kind_and_no_figures(api_app: Flask) -> None:
    warming = prediction(
        "engine-6", "c00001", at(5), model_kind="rul", status="unscored", failure_probability=None,
        threshold=None, model_version=None, rul_unit="cycles", rul_horizon=30.0,
    )  # fmt: skip
    feed(api_app, predictions=[warming, rul_prediction("engine-6", 2, at(4), 90.0)])
    client = api_app.test_client()
    raw = client.get("/api/machines/engine-6/history?limit=10").json["points"]
    assert [(p["status"], p["rul"]) for p in raw] == [("unscored", None), ("normal", 90.0)]
    (bucket,) = client.get("/api/machines/engine-6/history?limit=1").json["points"]
    assert (bucket["status"], bucket["rul"], bucket["rul_low"]) == ("normal", 90.0, 85.0)  # the mean of those with one
    latest = client.get("/api/machines/engine-6").json["latest"]
    assert (latest["model_kind"], latest["rul"]) == ("rul", 90.0)


def test_a_minute_scored_first_by_a_classifier_then_by_a_rul_model_keeps_both_in_the_rollup(api_app: Flask) -> None:
    """A classifier's rows are written without the model columns; a later RUL row of the same minute adds them."""
    hour = test_now().replace(minute=0, second=0) - timedelta(hours=3)
    classifier = [
        prediction("engine-7", f"r{k}", iso(hour + timedelta(minutes=k, seconds=10)), failure_probability=0.2)
        for k in range(120)
    ]
    feed(api_app, predictions=classifier)
    feed(api_app, predictions=[rul_prediction("engine-7", k, iso(hour + timedelta(minutes=k, seconds=40)), 90.0 - k)
                               for k in range(60)])  # fmt: skip
    since = iso(hour)
    points = api_app.test_client().get(f"/api/machines/engine-7/history?since={since}&limit=2").json["points"]
    assert len(points) == 2  # hour-wide buckets from the rollup
    assert [p["rul"] for p in points] == [60.5, None]  # the first hour's RUL readings only
    assert [p["rul_low"] for p in points] == [55.5, None]
    assert [p["failure_probability"] for p in points] == [0.2, 0.2]
