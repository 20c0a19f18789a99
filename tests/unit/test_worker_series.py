"""RUL and anomaly models in the worker, with fake models: windows per machine, statuses, alerts, explanations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from contract import Prediction, Profile, Topics, parse_prediction, utc_now_iso
from contract.profiles import parse_profile
from inference_worker import models
from inference_worker.alerts import AlertTracker
from inference_worker.core import BatchProcessor, Incoming
from inference_worker.models import ModelShelf
from inference_worker.series import SeriesServer
from model.artifact import ModelError
from model.series import IntervalTable, SeriesFeatures
from model.series_artifact import SeriesModel
from model.windows import Window, WindowSpec, history_features

TOPICS = Topics("test")
PUMP = parse_profile(
    """
id: pump-s
name: Test pump
fields:
  - {name: cycle, label: cycle, kind: counter, unit: cycles, min: 0, max: 100000}
  - {name: temp, label: temperature, kind: sensor, unit: °C, min: -50, max: 500}
  - {name: vib, label: vibration, kind: sensor, unit: mm/s, min: 0, max: 100}
failure_modes:
  - {code: WEAR, name: Wear}
model:
  kind: rul
  inputs: [temp, vib]
  order: cycle
  windows:
    - {size: 3, stats: [mean, slope]}
  rul: {unit: cycles, horizon: 10}
""",
    "pump.yaml",
)
SPEC = WindowSpec(("temp", "vib"), (Window(3, ("mean", "slope")),))
FEATURES = SeriesFeatures(("temp", "vib"), SPEC)  # temp, vib, temp_mean3, vib_mean3, temp_slope3, vib_slope3
INTERVAL = IntervalTable((5.0,), (-2.0, -4.0), (3.0, 6.0), 0.8)


def fake_rul(features: np.ndarray) -> np.ndarray:
    """RUL = 100 - the mean temperature of the last 3 cycles (a hotter pump has less life left)."""
    return np.maximum(100.0 - features[:, 2], 0.0)


def fake_anomaly(features: np.ndarray) -> np.ndarray:
    """Score = the squared mean vibration of the last 3 cycles (features without the current values)."""
    return np.asarray(features[:, 1] ** 2)


def rul_server(reference: bool = True) -> SeriesServer:
    mean = np.array([20.0, 1.0, 20.0, 1.0, 0.0, 0.0])
    sd = np.ones(6)
    return SeriesServer(
        "aaaaaaaaaaaa",
        "rul",
        PUMP.id,
        FEATURES,
        "cycle",
        fake_rul,
        horizon=10.0,
        unit="cycles",
        interval=INTERVAL,
        warmup=3,
        reference=(mean, sd) if reference else None,
    )


def anomaly_server() -> SeriesServer:
    features = SeriesFeatures(("temp", "vib"), SPEC, current=False)  # temp_mean3, vib_mean3, slopes
    return SeriesServer("bbbbbbbbbbbb", "anomaly", PUMP.id, features, "cycle", fake_anomaly, threshold=25.0, warmup=3)


def message(machine: str, cycle: int, temp: float, vib: float = 1.0, failure: int | None = None) -> Incoming:
    reading: dict[str, Any] = {
        "reading_id": f"{machine}-{cycle}-{temp}",
        "ts": utc_now_iso(),
        "cycle": cycle,
        "temp": temp,
        "vib": vib,
    }
    if failure is not None:
        reading["failure"] = failure
    return Incoming(TOPICS.readings(machine), json.dumps(reading).encode())


def processor(server: SeriesServer, profile: Profile = PUMP) -> BatchProcessor:
    return BatchProcessor(TOPICS, lambda _p: server, AlertTracker(2), utc_now_iso, lambda _m: profile)


def test_a_rul_prediction_carries_rul_interval_unit_and_horizon_and_no_probability() -> None:
    result = processor(rul_server()).process([message("p1", c, 50.0) for c in (1, 2, 3)])
    first, _second, third = result.predictions
    assert (first.status, first.model_kind, first.rul) == ("unscored", "rul", None)  # windows warming up
    assert (third.status, third.rul, third.rul_low, third.rul_high) == ("normal", 50.0, 46.0, 56.0)
    assert (third.rul_unit, third.rul_horizon, third.failure_probability, third.threshold) == (
        "cycles",
        10.0,
        None,
        None,
    )
    assert third.model_version == "aaaaaaaaaaaa"
    assert parse_prediction(third.to_json()) == third


def test_windows_follow_each_machine_whatever_the_interleaving_and_batching() -> None:
    """Two machines interleaved, in batches of any size: every RUL equals the batch computation of its history."""
    rng = np.random.default_rng(7)
    temps = {"p1": rng.uniform(20, 95, 12), "p2": rng.uniform(20, 95, 12)}
    messages = [message(m, c + 1, round(float(temps[m][c]), 2)) for c in range(12) for m in ("p1", "p2")]
    server = rul_server()
    proc = processor(server)
    predictions: list[Prediction] = []
    for start, size in ((0, 1), (1, 5), (6, 2), (8, 16)):
        predictions += proc.process(messages[start : start + size]).predictions
    for machine in ("p1", "p2"):
        history = np.column_stack([np.round(temps[machine], 2), np.ones(12)])
        expected = fake_rul(np.hstack([history, history_features(history, SPEC)]))
        got = [p.rul for p in predictions if p.machine_id == machine]
        assert got[2:] == [round(float(v), 3) for v in expected[2:]]


def test_a_rul_under_the_horizon_is_predictive_opens_a_rul_alert_and_is_explained() -> None:
    proc = processor(rul_server())
    result = proc.process([message("p1", c, 95.0) for c in (1, 2, 3)])
    third = result.predictions[2]
    assert (third.status, third.rul) == ("predictive", 5.0)
    assert third.explanation is not None
    top = third.explanation["contributions"][0]
    # temp_mean3 at 95 instead of a healthy 20 takes 75 cycles off the RUL
    assert (top["feature"], top["healthy"], top["contribution"]) == ("temp_mean3", 20.0, -75.0)
    assert "5 cycles of useful life left" in third.explanation["text"]
    [alert] = result.alerts
    assert (alert.kind, alert.severity, alert.rul, alert.rul_unit, alert.failure_probability) == (
        "rul",
        "warning",
        5.0,
        "cycles",
        None,
    )
    assert "under the horizon of 10 cycles" in alert.message


def test_an_anomaly_score_above_its_threshold_is_predictive_and_opens_an_anomaly_alert() -> None:
    proc = processor(anomaly_server())
    calm = proc.process([message("p1", c, 30.0, vib=2.0) for c in (1, 2, 3, 4)])
    assert [p.status for p in calm.predictions] == ["unscored", "unscored", "normal", "normal"]
    assert calm.predictions[3].anomaly_score == 4.0
    assert calm.predictions[3].anomaly_threshold == 25.0
    shaking = proc.process([message("p1", c, 30.0, vib=9.0) for c in (5, 6, 7)])
    assert [p.anomaly_score for p in shaking.predictions] == [18.778, 44.444, 81.0]  # mean vib of 3, squared
    last = shaking.predictions[-1]
    assert (last.status, last.model_kind, last.rul, last.failure_probability) == ("predictive", "anomaly", None, None)
    [alert] = shaking.alerts  # one open alert per machine and kind
    assert (alert.kind, alert.anomaly_score, alert.anomaly_threshold) == ("anomaly", 44.444, 25.0)
    assert "no failure labels" in alert.message


def test_a_reported_failure_is_a_failure_whatever_the_rul() -> None:
    result = processor(rul_server()).process([message("p1", 1, 30.0), message("p1", 2, 30.0, failure=1)])
    assert [p.status for p in result.predictions] == ["unscored", "failure"]
    assert [a.kind for a in result.alerts] == ["detected"]


def test_a_duplicate_or_late_reading_does_not_move_the_windows() -> None:
    server = rul_server()
    proc = processor(server)
    proc.process([message("p1", c, 40.0) for c in (1, 2, 3, 4)])
    repeated = proc.process([message("p1", 3, 99.0), message("p1", 4, 99.0), message("p1", 5, 40.0)])
    assert [p.status for p in repeated.predictions] == ["unscored", "unscored", "normal"]
    assert repeated.predictions[0].explanation is not None
    assert "not after the last reading applied" in repeated.predictions[0].explanation["text"]
    assert repeated.predictions[2].rul == 60.0  # the two late readings at 99 never entered the window
    assert server.lives["p1"].window.count == 5


def test_an_order_counter_back_at_its_start_begins_a_new_life_with_fresh_windows() -> None:
    server = rul_server()
    proc = processor(server)
    proc.process([message("p1", c, 90.0) for c in (1, 2, 3)])
    renewed = proc.process([message("p1", 1, 30.0), message("p1", 2, 30.0), message("p1", 3, 30.0)])
    assert [p.status for p in renewed.predictions] == ["unscored", "unscored", "normal"]
    assert renewed.predictions[2].rul == 70.0  # only the new engine's readings in its window


def test_a_new_model_with_the_same_windows_keeps_the_machines_windows() -> None:
    old, new = rul_server(), rul_server()
    processor(old).process([message("p1", c, 50.0) for c in (1, 2)])
    new.adopt(old)
    [prediction] = processor(new).process([message("p1", 3, 50.0)]).predictions
    assert (prediction.status, prediction.rul) == ("normal", 50.0)


def test_without_a_reference_the_explanation_says_why_in_words() -> None:
    result = processor(rul_server(reference=False)).process([message("p1", c, 95.0) for c in (1, 2, 3)])
    explanation = result.predictions[2].explanation
    assert explanation == {"text": "5 cycles of useful life left, under the horizon of 10 cycles", "contributions": []}


def _model(card: dict[str, Any]) -> SeriesModel:
    return SeriesModel("cccccccccccc", card, b"", FEATURES)


def test_a_model_reading_fields_its_profile_lacks_is_refused_naming_them() -> None:
    other = parse_profile(
        """
id: pump-s
name: Test pump, version 2
version: 2
fields:
  - {name: cycle, label: cycle, kind: counter, unit: cycles, min: 0, max: 100000}
  - {name: temp, label: temperature, kind: sensor, unit: °C, min: -50, max: 500}
failure_modes:
  - {code: WEAR, name: Wear}
""",
        "pump.yaml",
    )
    card = {"kind": "rul", "order": "cycle", "horizon": 10, "unit": "cycles", "features": FEATURES.to_card()}
    with pytest.raises(ModelError, match=r"reads 'vib', which profile pump-s \(version 2\) has no numeric field"):
        SeriesServer.from_model(_model(card), other)


def test_the_shelf_keeps_the_machines_windows_across_a_new_version(monkeypatch: pytest.MonkeyPatch) -> None:
    versions = iter([rul_server(), rul_server()])
    pointers = {"pump-s": "aaaaaaaaaaaa"}
    # the champion follows its pointer; no challenger (model/roles.py)
    monkeypatch.setattr(
        models,
        "read_role",
        lambda _dir, role, profile_id=None: pointers.get(profile_id or "") if role == "current" else None,
    )
    shelf = ModelShelf(Path("var/models"), loader=lambda _dir, _profile, _version: next(versions))
    first = shelf.scorer_for(PUMP)
    assert isinstance(first, SeriesServer)
    processor(first).process([message("p1", c, 50.0) for c in (1, 2)])
    pointers["pump-s"] = "dddddddddddd"
    shelf.refresh()
    second = shelf.scorer_for(PUMP)
    assert isinstance(second, SeriesServer)
    assert second is not first
    assert second.lives["p1"].window.count == 2
