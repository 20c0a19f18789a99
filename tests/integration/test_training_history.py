"""python -m training --from-history and compare, on a real store (SQLite) filled as the API fills it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from api.db import create_database_engine
from api.decode import prediction_row, shadow_row
from api.migrations import upgrade
from api.rows import ms_to_ts
from api.store import Store
from contract import Prediction, default_profile
from contract.columns import column_map
from model.artifact import current_version, load_model
from model.roles import read_role
from model.scoring import ModelScorer
from tests.support.stack import REPO_ROOT
from training.config import DEFAULT_DATA

PROFILE = default_profile()
START_MS = 1_790_000_000_000
STEP_MS = 600_000


def _readings(limit: int, report: bool) -> list[dict[str, object]]:
    """AI4I rows as stored readings' values, with their failure flags when `report`."""
    names = {column: name for name, column in column_map(PROFILE).items()}
    rows = []
    with DEFAULT_DATA[0].open(newline="") as handle:
        for row in csv.DictReader(handle):
            values: dict[str, object] = {}
            for column, text in row.items():
                name = names.get(column)
                if name in ("failure", "failure_description") or name is None:
                    continue
                values[name] = text if name in ("type", "product_id") else float(text)
            rows.append((values, int(row["Failure"]), row["Failure_Description"]))
            if len(rows) >= limit:
                break
    return [
        {"values": values, "failure": failure if report else None, "description": description if report else None}
        for values, failure, description in rows
    ]


def _store(url: str, readings: list[dict[str, object]], machine: str) -> None:
    engine = create_database_engine(url)
    upgrade(engine)
    rows = []
    for i, item in enumerate(readings):
        ts = START_MS + i * STEP_MS
        prediction = Prediction(
            reading_id=f"{machine}-{i:06d}",
            machine_id=machine,
            profile=PROFILE.id,
            ts=_ts(ts),
            scored_at=_ts(ts),
            status="failure" if item["failure"] == 1 else "normal",
            failure_probability=0.1,
            predicted_mode=None,
            model_version="aaaaaaaaaaaa",
            threshold=0.5,
            values=item["values"],  # type: ignore[arg-type]
            failure=item["failure"],  # type: ignore[arg-type]
            failure_description=item["description"],  # type: ignore[arg-type]
        )
        rows.append(prediction_row(prediction.to_json(), machine))
    Store(engine).write_batch(rows)
    engine.dispose()


def _ts(ms: int) -> str:
    return ms_to_ts(ms)


def _cli(url: str, models: Path, *args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"FOREWARN_DATABASE_URL": url, "FOREWARN_TRAIN_JOBS": "1"} | environment
    command = [sys.executable, "-m", "training", *args, "--profile", PROFILE.id, "--models-dir", str(models)]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_a_history_without_labels_or_without_a_store_is_a_one_line_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    missing = _cli(f"sqlite:///{tmp_path / 'none.db'}", tmp_path / "models", "--from-history")
    assert missing.returncode == 1
    assert "holds no history" in missing.stderr
    assert missing.stderr.strip().count("\n") == 0
    _store(url, _readings(300, report=False), "unlabelled-1")
    unlabelled = _cli(url, tmp_path / "models", "--from-history")
    assert unlabelled.returncode == 1
    assert "has no labels" in unlabelled.stderr
    assert "Traceback" not in unlabelled.stderr
    assert unlabelled.stderr.strip().count("\n") == 0


def test_from_history_trains_a_challenger_on_a_time_split_with_every_labels_source_and_compare_reads_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    models = tmp_path / "models"
    models.mkdir()
    _store(url, _readings(4000, report=True), "hist-1")
    trained = _cli(url, models, "--from-history")
    assert trained.returncode == 0, trained.stderr
    assert "trained from history as challenger" in trained.stdout
    version = read_role(models, "challenger", PROFILE.id)
    assert version is not None
    assert current_version(models) is None  # a challenger first, never straight into service
    card = load_model(models, version).card
    data = card["data"]
    assert data["source"] == "history"
    assert data["split"]["method"].startswith("time-ordered")
    assert data["split"]["train_from"] < data["split"]["validation_from"] <= data["split"]["validation_to"]
    assert set(data["labels"]) == {"reported_failure", "reported_no_failure"}
    assert data["labels"]["reported_failure"]["failures"] == data["failures"] > 0
    assert data["rows"] == data["train_rows"] + data["validation_rows"] == 4000
    assert card["metrics"]["validation"]["recall"] > 0.5

    # Shadow predictions of that challenger, as the worker would publish them, then compare.
    engine = create_database_engine(url)
    scorer = ModelScorer(load_model(models, version))
    with engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT machine_id, reading_id, ts_ms, values_json FROM predictions ORDER BY ts_ms"
        ).all()
    scores = scorer.score(scorer.spec.raw_matrix([json.loads(row[3]) for row in stored]))
    shadow = []
    for row, probability in zip(stored, scores.failure_probability.tolist(), strict=True):
        prediction = Prediction(
            reading_id=row[1], machine_id=row[0], profile=PROFILE.id, ts=_ts(row[2]), scored_at=_ts(row[2]),
            status="predictive" if probability >= scorer.threshold else "normal",
            failure_probability=round(probability, 4), predicted_mode=None, model_version=version,
            threshold=scorer.threshold, values={}, shadow=True,
        )  # fmt: skip
        shadow.append(shadow_row(prediction.to_json(), row[0]))
    Store(engine).write_batch(shadow_rows=shadow)
    engine.dispose()
    compared = _cli(url, models, "compare", "--json")
    assert compared.returncode == 0, compared.stderr
    figures = json.loads(compared.stdout)
    assert figures["readings"] == 4000
    assert figures["challenger"]["version"] == version
    assert figures["champion"]["version"] == "aaaaaaaaaaaa"
    assert figures["champion"]["recall"] == 0.0  # the stored champion never flagged anything
    assert figures["challenger"]["recall"] > 0.5
    assert figures["challenger"]["ms_per_reading"] > 0
    assert figures["label_sources"]["reported_failure"] == figures["challenger"]["failures"]
    text = _cli(url, models, "compare", "--auto-promote")
    assert text.returncode == 0, text.stderr
    assert "not promoting: automatic promotion is off" in text.stdout
    assert "alerts per machine-day" in text.stdout
    assert read_role(models, "challenger", PROFILE.id) == version
    strict = {"FOREWARN_AUTO_PROMOTE": "1", "FOREWARN_PROMOTE_MIN_LABELS": "5000"}
    assert (
        "not promoting: only 4000 labelled readings" in _cli(url, models, "compare", "--auto-promote", **strict).stdout
    )
    won = _cli(url, models, "compare", "--auto-promote", FOREWARN_AUTO_PROMOTE="1", FOREWARN_PROMOTE_MARGIN="0.3")
    assert won.returncode == 0, won.stderr
    assert "promoting: challenger F1" in won.stdout
    assert current_version(models) == version
    assert read_role(models, "challenger", PROFILE.id) is None
