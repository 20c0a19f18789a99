"""Proof that nothing is hard-coded: a fan (tests/profiles/fan.yaml) runs through the worker.

The profile is added with the broker tooling, a model is trained for it from data its own
simulation section generates, a fan is added with `add-user --profile fan` while the worker
runs, and its readings are scored by the fan's model, beside an AI4I mill scored by the
mill's model. A machine bound to no profile is rejected as unknown_profile.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from contract import Rejection, load_profile, parse_prediction, utc_now_iso
from inference_worker.service import Worker
from model.artifact import current_version, load_model
from publisher.simulation import Simulator
from tests.support.mqtt import Collector
from tests.support.payloads import encode, reading
from tests.support.stack import REPO_ROOT, start_worker, worker_config

FAN_PROFILE = REPO_ROOT / "tests" / "profiles" / "fan.yaml"


def _cli(module: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _env(broker: LocalBroker, folder: Path) -> dict[str, str]:
    """What `python -m broker` and `python -m training` need to act on the test broker and registry."""
    return os.environ | {
        "FOREWARN_VAR_DIR": str(folder / "var"),
        "FOREWARN_BROKER_DIR": str(broker.paths.state_dir),
        "FOREWARN_SECRETS_DIR": str(folder / "secrets"),
        "FOREWARN_BROKER_ADMIN_FILE": str(broker.accounts.admin_file),  # the tooling changes the running broker
        "FOREWARN_REGISTRY_DIR": str(broker.registry_dir),
        "FOREWARN_TOPIC_PREFIX": broker.topics.prefix,
    }


def _fan_data(path: Path, rows: int = 4000) -> None:
    """A training file written from the fan profile's own simulation, columns named like its fields."""
    simulator = Simulator(np.random.default_rng(3), load_profile(FAN_PROFILE))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["vibration_mm_s", "bearing_temp_c", "failure", "failure_description"])
        for _ in range(rows):
            sample = simulator.step()
            values = sample.values
            writer.writerow(
                [values["vibration_mm_s"], values["bearing_temp_c"], sample.failure, sample.failure_description]
            )


@pytest.fixture(scope="module")
def fan_stack(
    broker: LocalBroker, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Worker, Path, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("fan")
    models = folder / "models"
    shutil.copytree(models_dir, models)  # the AI4I model, and the fan's beside it
    env = _env(broker, folder)
    added = _cli("broker", env, "add-profile", str(FAN_PROFILE))
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("profile fan v1 added")
    _fan_data(folder / "fans.csv")
    trained = _cli("training", env, "--profile", "fan", "--data", str(folder / "fans.csv"), "--models-dir", str(models))
    assert trained.returncode == 0, trained.stderr
    assert "validation" in trained.stdout
    worker = start_worker(worker_config(broker, models, f"fan-{uuid.uuid4().hex[:6]}"))
    yield worker, models, env
    worker.stop()


def _sensor(broker: LocalBroker, name: str, password: str):
    settings = broker.settings(name, password)
    client = create_client(settings, None)
    connect_client(client, settings)
    assert wait_connected(client)
    return client


def test_the_fan_model_is_a_model_of_the_fan_profile(fan_stack: tuple[Worker, Path, dict[str, str]]) -> None:
    _worker, models, _env = fan_stack
    fan_version = current_version(models, "fan")
    assert fan_version is not None
    assert current_version(models) != fan_version  # the AI4I model is still the AI4I model
    card = load_model(models, profile_id="fan").card
    assert card["profile"] == {"id": "fan", "version": 1}
    assert card["features"] == ["vibration_mm_s", "bearing_temp_c", "bearing_margin", "bearing_rule"]
    assert card["metrics"]["validation"]["f1"] > 0.8


def test_a_fan_added_while_the_worker_runs_is_scored_by_the_fan_model_beside_a_mill(
    broker: LocalBroker, fan_stack: tuple[Worker, Path, dict[str, str]]
) -> None:
    worker, models, env = fan_stack
    fan_id, mill_id = f"fan-{uuid.uuid4().hex[:8]}", f"mill-{uuid.uuid4().hex[:8]}"
    watcher = Collector(
        broker.settings("fan-watch", broker.add_user("fan-watch", "viewer")),
        [broker.topics.predictions(fan_id), broker.topics.predictions(mill_id), broker.topics.alerts(fan_id)],
    )
    added = _cli("broker", env, "add-user", fan_id, "--role", "sensor", "--profile", "fan")
    assert added.returncode == 0, added.stderr
    assert f"machine {fan_id} bound to profile fan" in added.stdout
    password = added.stdout.split(f"user {fan_id}: password ", 1)[1].split()[0]
    fan = _sensor(broker, fan_id, password)
    mill = _sensor(broker, mill_id, broker.add_user(mill_id, "sensor"))  # bound to ai4i-mill, the default
    try:
        calm = {"reading_id": "f-1", "ts": utc_now_iso(), "vibration_mm_s": 2.1, "bearing_temp_c": 48.0}
        rough = {"reading_id": "f-2", "ts": utc_now_iso(), "vibration_mm_s": 9.4, "bearing_temp_c": 96.5}
        for payload in (calm, rough):
            fan.publish(broker.topics.readings(fan_id), encode(payload), qos=1).wait_for_publish(10)
        mill.publish(broker.topics.readings(mill_id), encode(reading()), qos=1).wait_for_publish(10)
        watcher.wait_for(lambda msgs: len(msgs) >= 4, timeout=20)
        calm_p, rough_p = [parse_prediction(m.payload) for m in watcher.on_topic(broker.topics.predictions(fan_id))]
        (mill_p,) = [parse_prediction(m.payload) for m in watcher.on_topic(broker.topics.predictions(mill_id))]
    finally:
        for client in (fan, mill):
            client.disconnect()
            client.loop_stop()
        watcher.close()
    fan_version = current_version(models, "fan")
    assert (calm_p.profile, calm_p.model_version, calm_p.status) == ("fan", fan_version, "normal")
    assert calm_p.values == {"vibration_mm_s": 2.1, "bearing_temp_c": 48.0}
    assert (rough_p.status, rough_p.predicted_mode) == ("predictive", "BRG")
    assert rough_p.failure_probability is not None
    assert rough_p.failure_probability > 0.5
    assert rough_p.explanation is not None
    (condition,) = rough_p.explanation["conditions"]
    assert condition["text"] == "vibration 9.4 mm/s, 132% of the 7.1 mm/s limit, at 96 °C"
    assert {c["feature"] for c in rough_p.explanation["contributions"]} <= {
        "vibration_mm_s",
        "bearing_temp_c",
        "bearing_margin",
        "bearing_rule",
    }
    assert (mill_p.profile, mill_p.model_version) == ("ai4i-mill", current_version(models))
    assert worker.models.served() == {"ai4i-mill": current_version(models), "fan": fan_version}
    alerts = [m for m in watcher.messages if m.topic == broker.topics.alerts(fan_id)]
    assert alerts
    assert b'"profile":"fan"' in alerts[0].payload


def test_a_machine_bound_to_no_profile_is_rejected_as_unknown_profile(
    broker: LocalBroker, fan_stack: tuple[Worker, Path, dict[str, str]]
) -> None:
    stray = f"stray-{uuid.uuid4().hex[:8]}"
    password = broker.accounts.add(stray, "sensor")  # an account made by hand, without a binding
    watcher = Collector(
        broker.settings("stray-watch", broker.add_user("stray-watch", "viewer")), [broker.topics.rejected(stray)]
    )
    client = _sensor(broker, stray, password)
    try:
        client.publish(broker.topics.readings(stray), encode(reading()), qos=1).wait_for_publish(10)
        (message,) = watcher.wait_for(lambda msgs: len(msgs) >= 1, timeout=20)
    finally:
        client.disconnect()
        client.loop_stop()
        watcher.close()
    rejection = Rejection.from_json(message.payload)
    assert rejection.reason == "unknown_profile"
    assert rejection.detail == f"machine {stray} is bound to no profile (python -m broker bind {stray} PROFILE)"


def test_binding_a_sensor_to_a_profile_that_does_not_exist_changes_nothing(
    broker: LocalBroker, fan_stack: tuple[Worker, Path, dict[str, str]]
) -> None:
    _worker, _models, env = fan_stack
    name = f"pump-{uuid.uuid4().hex[:8]}"
    result = _cli("broker", env, "add-user", name, "--role", "sensor", "--profile", "pump")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --profile 'pump': no such profile (known: ai4i-mill, fan, turbofan)")
    assert "Traceback" not in result.stderr
    assert name not in broker.accounts.users()
    listed = _cli("broker", env, "bindings")
    assert name not in listed.stdout


def test_a_bad_profile_file_is_one_line_naming_file_line_and_field(
    fan_stack: tuple[Worker, Path, dict[str, str]], tmp_path: Path
) -> None:
    _worker, _models, env = fan_stack
    bad = tmp_path / "fan2.yaml"
    bad.write_text(
        FAN_PROFILE.read_text().replace("id: fan", "id: fan2").replace("min: 0, max: 50", "min: 60, max: 50")
    )
    result = _cli("broker", env, "add-profile", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {bad}:10: fields[0].min: min (60) > max (50)"]
