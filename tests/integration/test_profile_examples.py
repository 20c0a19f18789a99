"""docs/PROFILES.md's second worked example, command by command: a centrifugal pump, no code change.

The profile file is added, a training set is simulated from it and a model trained, a pump is
added with `add-user --profile`, and a plant's CSV with its own column names is replayed with
`--map` to a running worker, which scores it with the pump's model.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from broker.local import LocalBroker
from contract import load_profile, parse_prediction
from model.artifact import current_version, load_model
from tests.support.mqtt import Collector
from tests.support.stack import REPO_ROOT, start_worker, worker_config

PUMP = REPO_ROOT / "docs" / "profiles" / "centrifugal-pump.yaml"
PLANT_COLUMNS = {  # the plant's historian names -> the profile's fields
    "Q": "flow_m3_h",
    "Ps": "suction_bar",
    "Pd": "discharge_bar",
    "I": "motor_current_a",
    "Tb": "bearing_temp_c",
    "Seal": "seal_type",
    "Wear": "seal_wear_h",
}


def _run(module: str, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{module} {' '.join(args)}: {result.stderr}"
    return result.stdout


def _plant_file(training_set: Path, plant: Path, rows: int) -> None:
    """The simulated rows again, as a plant's historian would export them: other column names, other order."""
    with training_set.open(newline="") as source, plant.open("w", newline="") as target:
        reader = csv.DictReader(source)
        writer = csv.writer(target)
        writer.writerow(["Timestamp", *reversed(PLANT_COLUMNS)])
        for n, row in zip(range(rows), reader, strict=False):
            writer.writerow([f"t{n}", *(row[PLANT_COLUMNS[column]] for column in reversed(PLANT_COLUMNS))])


def test_the_pump_example_runs_as_documented(broker: LocalBroker, models_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    env = os.environ | {
        "FOREWARN_VAR_DIR": str(tmp_path / "var"),
        "FOREWARN_BROKER_DIR": str(broker.paths.state_dir),
        "FOREWARN_SECRETS_DIR": str(tmp_path / "secrets"),
        "FOREWARN_REGISTRY_DIR": str(broker.registry_dir),
        "FOREWARN_MQTT_HOST": broker.host,
        "FOREWARN_MQTT_PORT": str(broker.port),
        "FOREWARN_MQTT_CA": str(broker.ca_file),
        "FOREWARN_TOPIC_PREFIX": broker.topics.prefix,
        "FOREWARN_OUTBOX_KEEP_ACKED_S": "0",
    }
    machine = f"pump-{uuid.uuid4().hex[:8]}"
    assert "profile centrifugal-pump v1 added" in _run("broker", env, "add-profile", str(PUMP))
    training_set = tmp_path / "pump.csv"
    _run(
        "publisher",
        env,
        "simulate",
        "--profile",
        "centrifugal-pump",
        "--count",
        "6000",
        "--seed",
        "1",
        "--csv",
        str(training_set),
    )
    _run("training", env, "--profile", "centrifugal-pump", "--data", str(training_set), "--models-dir", str(models))
    version = current_version(models, "centrifugal-pump")
    assert version is not None
    card = load_model(models, profile_id="centrifugal-pump").card
    assert card["features"][:10] == [
        "flow_m3_h",
        "suction_bar",
        "discharge_bar",
        "motor_current_a",
        "bearing_temp_c",
        "seal_wear_h",
        "head_bar",
        "hydraulic_kw",
        "electric_kw",
        "efficiency",
    ]
    added = _run("broker", env, "add-user", machine, "--role", "sensor", "--profile", "centrifugal-pump", "--save")
    assert f"machine {machine} bound to profile centrifugal-pump" in added
    plant = tmp_path / "plant.csv"
    _plant_file(training_set, plant, rows=20)
    worker = start_worker(worker_config(broker, models, f"pump-{uuid.uuid4().hex[:6]}"))
    watcher = Collector(
        broker.settings("pump-watch", broker.add_user("pump-watch", "viewer")), [broker.topics.predictions(machine)]
    )
    try:
        mapping = ",".join(f"{column}={field}" for column, field in PLANT_COLUMNS.items())
        _run(
            "publisher", env, "replay", str(plant), "--machine", machine, "--profile", "centrifugal-pump",
            "--map", mapping, "--rate", "0",
        )  # fmt: skip
        messages = watcher.wait_for(lambda msgs: len(msgs) >= 20, timeout=30)
    finally:
        worker.stop()
        watcher.close()
    predictions = [parse_prediction(m.payload) for m in messages]
    assert len(predictions) == 20
    assert {(p.profile, p.model_version) for p in predictions} == {("centrifugal-pump", version)}
    fields = {f.name for f in load_profile(PUMP).fields}
    assert all(set(p.values) <= fields and "flow_m3_h" in p.values for p in predictions)
    assert {p.status for p in predictions} <= {"normal", "predictive", "failure"}


@pytest.mark.parametrize("profile", sorted((REPO_ROOT / "docs" / "profiles").glob("*.yaml")), ids=lambda p: p.name)
def test_every_documented_profile_is_valid(profile: Path) -> None:
    assert load_profile(profile).id == profile.stem
