"""RUL and anomaly models served by real workers through a real broker, and windows across 1, 2 and 3 workers.

Turbofan engines of NASA's FD001 are bound to the turbofan profile and replayed cycle by
cycle; every prediction is compared with the offline computation of the same engine's
history (model/windows.py's batch path, the model's ONNX export): the worker's windows must
be exactly the training ones, whichever worker owns an engine.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from contract import Channel, Prediction, parse_alert, parse_prediction, utc_now_iso
from contract.profiles import builtin_profiles, parse_profile
from inference_worker.models import ModelShelf
from inference_worker.ownership import owner_of
from inference_worker.service import Worker
from model.series import RulScorer
from model.series_artifact import load_series_model
from publisher.replay import ReplayFormat
from tests.support.mqtt import Collector, publish_and_wait
from tests.support.stack import start_worker, worker_config
from training.series.anomaly import AnomalyParams
from training.series.profile import series_profile
from training.series.rul import RulParams
from training.series.train import train_series

REPO_ROOT = Path(__file__).resolve().parents[2]
FD001 = REPO_ROOT / "data" / "cmapss" / "train_FD001.csv"
TURBOFAN = builtin_profiles()["turbofan"]
COLUMNS = ReplayFormat(TURBOFAN).columns  # field -> FD001 column
FIELDS = [field.name for field in TURBOFAN.fields]


@pytest.fixture(scope="module")
def engines() -> pd.DataFrame:
    return pd.read_csv(FD001)


@pytest.fixture(scope="module")
def rul_dir(engines: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small RUL model (10 engines, few trees): these tests are about serving, not accuracy."""
    folder = tmp_path_factory.mktemp("rul")
    data = folder / "engines.csv"
    engines[engines["unit"] <= 10].to_csv(data, index=False)
    params = RulParams(max_iter=40, learning_rate=0.3, folds=2, cut_draws=1)
    train_series(data, series_profile(TURBOFAN), "rul", folder / "models", seed=3, rul_params=params)
    return folder / "models"


@pytest.fixture(scope="module")
def anomaly_dir(engines: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("anomaly")
    data = folder / "engines.csv"
    engines[engines["unit"] <= 20].to_csv(data, index=False)
    params = AnomalyParams(folds=2)
    train_series(data, series_profile(TURBOFAN), "anomaly", folder / "models", seed=3, anomaly_params=params)
    return folder / "models"


def payloads(engine: pd.DataFrame, machine: str) -> list[dict[str, Any]]:
    """An engine's rows as turbofan readings, in cycle order."""
    return [
        {"reading_id": f"{machine}-{int(row['cycle'])}", "ts": utc_now_iso()}
        | {name: float(row[COLUMNS[name]]) for name in FIELDS}
        for _, row in engine.sort_values("cycle").iterrows()
    ]


class Fleet:
    """Sensors of turbofan machines on one broker, publishing their engines' cycles interleaved."""

    def __init__(self, broker: LocalBroker, engines: pd.DataFrame, units: list[int], cycles: int) -> None:
        tag = uuid.uuid4().hex[:6]
        self.broker = broker
        self.machines = [f"fan-{tag}-{unit}" for unit in units]
        self.readings = {
            machine: payloads(engines[engines["unit"] == unit].head(cycles), machine)
            for machine, unit in zip(self.machines, units, strict=True)
        }
        passwords = broker.add_users(self.machines, "sensor", profile="turbofan")
        self.clients = []
        for machine in self.machines:
            settings = broker.settings(machine, passwords[machine])
            client = create_client(settings, None)
            connect_client(client, settings)
            assert wait_connected(client)
            self.clients.append(client)

    def publish(self) -> int:
        sent = 0
        longest = max(len(r) for r in self.readings.values())
        for i in range(longest):  # cycle by cycle, the engines interleaved
            for machine, client in zip(self.machines, self.clients, strict=True):
                if i < len(self.readings[machine]):
                    topic = self.broker.topics.readings(machine)
                    publish_and_wait(client, topic, json.dumps(self.readings[machine][i]).encode())
                    sent += 1
        return sent

    def close(self) -> None:
        for client in self.clients:
            client.disconnect()
            client.loop_stop()


@pytest.fixture
def viewer(own_broker: LocalBroker) -> Iterator[Collector]:
    topics = own_broker.topics
    collector = Collector(
        own_broker.settings("viewer-series", own_broker.add_user("viewer-series", "viewer")),
        [topics.all_of(Channel.PREDICTIONS), topics.all_of(Channel.ALERTS)],
    )
    yield collector
    collector.close()


def _predictions(viewer: Collector, broker: LocalBroker, fleet: Fleet, timeout: float = 60.0) -> dict[str, Prediction]:
    wanted = sum(len(r) for r in fleet.readings.values())
    topics = [broker.topics.predictions(m) for m in fleet.machines]

    def arrived() -> list[Prediction]:
        return [parse_prediction(m.payload) for t in topics for m in viewer.on_topic(t)]

    viewer.wait_for(lambda _m: len(arrived()) >= wanted, timeout)
    return {p.reading_id: p for p in arrived()}


def _start_workers(broker: LocalBroker, models: Path, count: int) -> list[Worker]:
    tag = uuid.uuid4().hex[:6]
    return [start_worker(worker_config(broker, models, f"{tag}-{i}", model_poll_s=60.0)) for i in range(count)]


def _wait_for_owners(workers: list[Worker], machines: list[str], timeout: float = 20.0) -> None:
    """Until every worker sees the others online and the machines are split among them, one owner each."""
    names = sorted(w.config.instance for w in workers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        owned = [w.ownership.owned & set(machines) for w in workers]
        expected = [{m for m in machines if owner_of(m, names) == w.config.instance} for w in workers]
        if owned == expected:
            time.sleep(0.5)  # the SUBACKs
            return
        time.sleep(0.1)
    raise AssertionError(f"machines not split among {names}: {[sorted(w.ownership.owned) for w in workers]}")


def _offline_rul(models: Path, readings: list[dict[str, Any]]) -> list[float]:
    """The RUL of every reading of one engine, computed from its whole history at once (training's path)."""
    model = load_series_model(models, "turbofan")
    scorer = model.scorer()
    assert isinstance(scorer, RulScorer)
    values = np.array([[r[name] for name in model.features.inputs] for r in readings])
    return [round(float(v), 3) for v in scorer.predict(model.features.history(values))]


def test_a_rul_model_is_served_with_its_interval_status_explanation_and_alert(
    own_broker: LocalBroker, viewer: Collector, engines: pd.DataFrame, rul_dir: Path
) -> None:
    [worker] = _start_workers(own_broker, rul_dir, 1)
    fleet = Fleet(own_broker, engines, [1], cycles=192)  # engine 1 to its failure at cycle 192
    try:
        _wait_for_owners([worker], fleet.machines)
        fleet.publish()
        predictions = _predictions(viewer, own_broker, fleet)
    finally:
        fleet.close()
        worker.stop()
    [machine] = fleet.machines
    ordered = [predictions[r["reading_id"]] for r in fleet.readings[machine]]
    warmup = 30
    assert {p.model_kind for p in ordered} == {"rul"}
    assert {p.status for p in ordered[: warmup - 1]} == {"unscored"}
    assert all(p.rul is None and p.failure_probability is None for p in ordered[: warmup - 1])
    expected = _offline_rul(rul_dir, fleet.readings[machine])
    assert [p.rul for p in ordered[warmup - 1 :]] == expected[warmup - 1 :]
    last = ordered[-1]
    assert last.status == "predictive"
    assert last.rul is not None
    assert last.rul < 30.0
    assert last.rul_low is not None
    assert last.rul_high is not None
    assert last.rul_low <= last.rul <= last.rul_high
    assert (last.rul_unit, last.rul_horizon) == ("cycles", 30.0)
    assert last.explanation is not None
    assert last.explanation["contributions"]
    assert "of useful life left" in last.explanation["text"]
    alerts = [parse_alert(m.payload) for m in viewer.on_topic(own_broker.topics.alerts(machine))]
    opened = [a for a in alerts if a.kind == "rul" and a.state == "open"]
    assert len(opened) == 1
    first_predictive = next(p for p in ordered if p.status == "predictive")
    assert (opened[0].reading_id, opened[0].rul, opened[0].rul_unit) == (
        first_predictive.reading_id,
        first_predictive.rul,
        "cycles",
    )


@pytest.mark.parametrize("count", [2, 3])
def test_every_window_is_the_one_worker_result_with_several_workers(
    own_broker: LocalBroker, viewer: Collector, engines: pd.DataFrame, rul_dir: Path, count: int
) -> None:
    """Six engines, 60 cycles each, interleaved: one worker, then `count` workers; every RUL is identical."""
    results = []
    for workers_wanted in (1, count):
        workers = _start_workers(own_broker, rul_dir, workers_wanted)
        fleet = Fleet(own_broker, engines, [11, 12, 13, 14, 15, 16], cycles=60)
        try:
            _wait_for_owners(workers, fleet.machines)
            fleet.publish()
            predictions = _predictions(viewer, own_broker, fleet)
        finally:
            fleet.close()
            for worker in workers:
                worker.stop()
        by_position = {
            (i, n): (p.status, p.rul, p.rul_low, p.rul_high)
            for i, machine in enumerate(fleet.machines)
            for n, p in enumerate(predictions[r["reading_id"]] for r in fleet.readings[machine])
        }
        results.append(by_position)
        if workers_wanted > 1:
            scoring = [w for w in workers if w.metrics.scored > 0]
            assert len(scoring) >= 2, "the engines were not shared out"
            assert sum(w.metrics.scored for w in workers) == sum(len(r) for r in fleet.readings.values())
            # every offline RUL too, engine by engine
            for i, machine in enumerate(fleet.machines):
                expected = _offline_rul(rul_dir, fleet.readings[machine])
                assert [results[-1][(i, n)][1] for n in range(29, 60)] == expected[29:]
    assert len(results[0]) == 360
    assert results[1] == results[0]


def test_an_anomaly_detector_is_served_and_flags_an_engine_near_its_end(
    own_broker: LocalBroker, viewer: Collector, engines: pd.DataFrame, anomaly_dir: Path
) -> None:
    [worker] = _start_workers(own_broker, anomaly_dir, 1)
    fleet = Fleet(own_broker, engines, [90], cycles=1000)  # a held-out engine, to its failure
    try:
        _wait_for_owners([worker], fleet.machines)
        fleet.publish()
        predictions = _predictions(viewer, own_broker, fleet)
    finally:
        fleet.close()
        worker.stop()
    [machine] = fleet.machines
    ordered = [predictions[r["reading_id"]] for r in fleet.readings[machine]]
    assert {p.model_kind for p in ordered} == {"anomaly"}
    threshold = ordered[-1].anomaly_threshold
    assert threshold is not None
    assert all(p.status != "predictive" for p in ordered[: len(ordered) // 2])  # no alarm in the first half
    assert ordered[-1].status == "predictive"
    alerts = [parse_alert(m.payload) for m in viewer.on_topic(own_broker.topics.alerts(machine))]
    assert [(a.kind, a.state) for a in alerts][:1] == [("anomaly", "open")]
    assert alerts[0].anomaly_score is not None
    assert alerts[0].anomaly_score > threshold


def test_a_model_of_another_profile_is_never_served(
    rul_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The turbofan model behind another profile's pointer: refused with a clear reason, readings unscored."""
    other = parse_profile(
        """
id: engine-x
name: Another engine
fields:
  - {name: cycle, label: cycle, kind: counter, min: 0, max: 100000}
  - {name: t24, label: T24, kind: sensor, min: 0, max: 1000}
failure_modes:
  - {code: HPC, name: HPC degradation}
""",
        "engine-x.yaml",
    )
    version = (rul_dir / "current-turbofan").read_text().strip()
    (tmp_path / version).symlink_to(rul_dir / version)
    (tmp_path / "current-engine-x").write_text(f"{version}\n")
    shelf = ModelShelf(tmp_path)
    with caplog.at_level(logging.ERROR, logger="inference_worker.models"):
        assert shelf.scorer_for(other) is None
    assert f"model {version} is for profile 'turbofan', not 'engine-x'; refusing to serve it" in caplog.text
    assert shelf.scorer_for(TURBOFAN) is None  # no current-turbofan pointer in this folder
