"""Champion, challenger, previous: promotion and rollback move pointers, refuse what cannot serve, and
a worker follows them; a challenger that fails to load is a clear error and the champion keeps serving."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from api import create_app, runtime_of
from api.decode import shadow_row
from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from contract import Prediction, default_profile
from contract.registry import Registry
from inference_worker.models import ModelShelf
from model.artifact import ModelError, current_version, write_pointer
from model.roles import LOG_FILE, clear_challenger, promote, read_role, role_pointer, rollback, set_challenger
from tests.support.api import TOKEN, ago, database_url_fixture, feed, prediction, test_config  # noqa: F401
from tests.support.mqtt import Collector
from tests.support.payloads import encode, reading
from tests.support.stack import REPO_ROOT, start_worker, worker_config
from training.config import DEFAULT_DATA
from training.modelling import Hyperparameters
from training.shipped import install_shipped
from training.train import train

PROFILE = "ai4i-mill"


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> tuple[Path, str, str]:
    """A models folder with the session's model as champion and a second, small one beside it."""
    folder = tmp_path_factory.mktemp("roles") / "models"
    shutil.copytree(models_dir, folder)
    champion = current_version(folder)
    assert champion is not None
    small = Hyperparameters(n_estimators=10, cv_folds=2)
    other = train(list(DEFAULT_DATA), folder, seed=3, params=small, profile=default_profile()).version
    write_pointer(folder / role_pointer("current", PROFILE), champion)  # train() moved it
    return folder, champion, other


def _fresh(two_models: tuple[Path, str, str], tmp_path: Path) -> tuple[Path, str, str]:
    folder, champion, other = two_models
    models = tmp_path / "models"
    shutil.copytree(folder, models)
    return models, champion, other


def _broken(models: Path, like: str) -> str:
    """A version folder whose model file does not match its card."""
    broken = "0" * 12
    shutil.copytree(models / like, models / broken)
    (models / broken / "model.skops").write_bytes(b"not a model")
    return broken


def test_promote_then_rollback_move_the_pointers_and_log_every_move(
    two_models: tuple[Path, str, str], tmp_path: Path
) -> None:
    models, champion, other = _fresh(two_models, tmp_path)
    set_challenger(models, PROFILE, other)
    assert read_role(models, "challenger", PROFILE) == other
    move = promote(models, PROFILE)
    assert (move.before, move.after) == (champion, other)
    assert (current_version(models), read_role(models, "previous", PROFILE)) == (other, champion)
    assert read_role(models, "challenger", PROFILE) is None
    back = rollback(models, PROFILE)
    assert (back.before, back.after) == (other, champion)
    assert (current_version(models), read_role(models, "previous", PROFILE)) == (champion, other)
    log = [json.loads(line) for line in (models / LOG_FILE).read_text().splitlines()]
    assert [(e["action"], e["before"], e["after"]) for e in log] == [
        ("challenger", None, other),
        ("promote", champion, other),
        ("rollback", other, champion),
    ]


def test_what_cannot_serve_is_refused_in_one_line_and_the_champion_stays(
    two_models: tuple[Path, str, str], tmp_path: Path
) -> None:
    models, champion, other = _fresh(two_models, tmp_path)
    with pytest.raises(ModelError, match="no challenger to promote") as caught:
        promote(models, PROFILE)
    assert "\n" not in str(caught.value)
    with pytest.raises(ModelError, match="nothing to roll back to"):
        rollback(models, PROFILE)
    with pytest.raises(ModelError, match="already the champion"):
        set_challenger(models, PROFILE, champion)
    broken = _broken(models, other)
    with pytest.raises(ModelError, match="does not match its card"):
        set_challenger(models, PROFILE, broken)
    write_pointer(models / role_pointer("challenger", PROFILE), broken)  # moved by hand, past the checks
    with pytest.raises(ModelError, match="challenger not promoted, the champion keeps serving"):
        promote(models, PROFILE)
    assert current_version(models) == champion
    assert clear_challenger(models, PROFILE) == broken
    assert read_role(models, "challenger", PROFILE) is None


def test_the_cli_promotes_and_rolls_back_and_says_why_it_cannot(
    two_models: tuple[Path, str, str], tmp_path: Path
) -> None:
    models, champion, other = _fresh(two_models, tmp_path)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "training", *args, "--profile", PROFILE, "--models-dir", str(models)]
        return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)

    refused = cli("promote")
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0
    assert "no challenger to promote" in refused.stderr
    assert cli("challenger", "--version", other).returncode == 0
    promoted = cli("promote")
    assert promoted.returncode == 0, promoted.stderr
    assert f"champion {champion} -> {other}" in promoted.stdout
    assert cli("rollback").returncode == 0
    assert current_version(models) == champion
    unknown = cli("challenger", "--version", "fedcba987654")
    assert unknown.returncode == 1
    assert "fedcba987654" in unknown.stderr


def test_a_worker_scores_in_shadow_keeps_serving_past_a_broken_challenger_and_follows_a_promotion(
    broker: LocalBroker,
    two_models: tuple[Path, str, str],
    tmp_path: Path,
    machine_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    models, champion, other = _fresh(two_models, tmp_path)
    broken = _broken(models, other)
    write_pointer(models / role_pointer("challenger", PROFILE), broken)
    worker = start_worker(worker_config(broker, models, "roles", model_poll_s=0.2))
    viewer = f"viewer-{machine_id}"[:60]
    collector = Collector(
        broker.settings(viewer, broker.add_user(viewer, "viewer")),
        [broker.topics.predictions(machine_id), broker.topics.shadow(machine_id)],
    )
    settings = broker.settings(machine_id, broker.add_user(machine_id, "sensor"))
    sensor = create_client(settings, None)
    connect_client(sensor, settings)
    assert wait_connected(sensor)
    sent: list[str] = []

    def publish(count: int) -> None:
        for _ in range(count):
            payload = reading()
            sent.append(payload["reading_id"])
            sensor.publish(broker.topics.readings(machine_id), encode(payload), qos=1).wait_for_publish(10)

    def predictions(shadow: bool) -> list[Prediction]:
        topic = broker.topics.shadow(machine_id) if shadow else broker.topics.predictions(machine_id)
        return [Prediction.from_json(m.payload) for m in collector.on_topic(topic)]

    try:
        with caplog.at_level(logging.ERROR, logger="inference_worker.models"):
            publish(20)
            collector.wait_for(lambda _m: len(predictions(False)) >= 20, timeout=20)
        assert [p.model_version for p in predictions(False)] == [champion] * 20
        assert predictions(True) == []
        assert "not loaded" in worker.models.challenger_errors[PROFILE]
        assert any("challenger 000000000000 not loaded" in r.getMessage() for r in caplog.records)

        set_challenger(models, PROFILE, other)  # a good one: it runs in shadow from the next poll on
        deadline = time.monotonic() + 20
        while worker.models.shadowed().get(PROFILE) != other and time.monotonic() < deadline:
            time.sleep(0.05)
        assert PROFILE not in worker.models.challenger_errors
        publish(20)
        collector.wait_for(lambda _m: len(predictions(True)) >= 20, timeout=20)
        shadows = predictions(True)
        assert {(p.model_version, p.shadow) for p in shadows} == {(other, True)}
        assert {p.reading_id for p in shadows} == set(sent[20:])

        promote(models, PROFILE)
        deadline = time.monotonic() + 20
        while worker.models.served().get(PROFILE) != other and time.monotonic() < deadline:
            time.sleep(0.05)
        publish(20)
        collector.wait_for(lambda _m: len(predictions(False)) >= 60, timeout=20)
        time.sleep(0.3)
        champions = predictions(False)
        assert Counter(p.reading_id for p in champions) == Counter(sent)  # each exactly once
        assert [p.model_version for p in champions[-20:]] == [other] * 20
        assert len(predictions(True)) == 20  # no shadow once the challenger is the champion
    finally:
        worker.stop()
        sensor.disconnect()
        sensor.loop_stop()
        collector.close()


def test_the_api_shows_the_roles_compares_and_promotes_with_the_token_only(
    two_models: tuple[Path, str, str], tmp_path: Path, database_url: str
) -> None:
    models, champion, other = _fresh(two_models, tmp_path)
    app = create_app(test_config(database_url, models_dir=models))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        (entry,) = [m for m in client.get("/api/models").json["models"] if m["profile"] == PROFILE]  # type: ignore[index]
        assert entry["champion"]["version"] == champion
        assert entry["champion"]["source"] == "files"
        assert entry["champion"]["validation"]["recall"] > 0
        assert (entry["challenger"], entry["previous"]) == (None, None)
        refused = client.post(f"/api/models/{PROFILE}/promote", headers=auth)
        assert refused.status_code == 409
        assert "no challenger to promote" in refused.json["error"]  # type: ignore[index]
        assert client.post("/api/models/nope/promote", headers=auth).status_code == 404
        none_yet = client.get(f"/api/models/{PROFILE}/comparison").json
        assert none_yet["comparison"] is None  # type: ignore[index]
        assert "no shadow predictions" in none_yet["reason"]  # type: ignore[index]

        set_challenger(models, PROFILE, other)
        rows = [prediction("api-m1", f"r{i}", ts=ago(100 - i), model_version=champion) for i in range(50)]
        feed(app, predictions=rows)
        shadow = [
            shadow_row(
                json.dumps(
                    row | {"shadow": True, "model_version": other, "status": "predictive", "failure_probability": 0.9}
                ).encode(),
                "api-m1",
            )
            for row in rows[10:]
        ]
        runtime_of(app).store.write_batch(shadow_rows=shadow)
        compared = client.get(f"/api/models/{PROFILE}/comparison").json["comparison"]  # type: ignore[index]
        assert compared["readings"] == 40
        assert (compared["champion"]["flagged"], compared["challenger"]["flagged"]) == (0, 40)
        assert compared["agreement"] == 0.0

        assert client.post(f"/api/models/{PROFILE}/promote").status_code == 401  # no token, nothing moves
        assert current_version(models) == champion
        moved = client.post(f"/api/models/{PROFILE}/promote", headers=auth)
        assert moved.status_code == 200
        assert moved.json == {"profile": PROFILE, "action": "promoted", "before": champion, "after": other}
        (entry,) = [m for m in client.get("/api/models").json["models"] if m["profile"] == PROFILE]  # type: ignore[index]
        assert (entry["champion"]["version"], entry["previous"]["version"], entry["challenger"]) == (
            other,
            champion,
            None,
        )
        back = client.post(f"/api/models/{PROFILE}/rollback", headers=auth)
        assert back.json["after"] == champion  # type: ignore[index]
        assert current_version(models) == champion
    finally:
        runtime_of(app).stop()


def test_a_series_model_named_as_challenger_is_refused_and_the_champion_serves(tmp_path: Path) -> None:
    """Challengers are failure classifiers: a RUL model named as one is a clear error, never loaded."""
    models = tmp_path / "models"
    ((profile_id, version),) = install_shipped(models)
    write_pointer(models / role_pointer("challenger", profile_id), version)  # the champion itself, as challenger
    shelf = ModelShelf(models)
    profile = Registry(tmp_path / "registry").profile(profile_id)
    assert profile is not None
    champion = shelf.scorer_for(profile)
    assert champion is not None
    assert champion.version == version
    assert shelf.challenger_for(profile) is None
    assert shelf.shadowed() == {}
    assert "challengers run for failure classifiers only" in shelf.challenger_errors[profile_id]
