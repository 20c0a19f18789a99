"""The store's schema migrations (api/migrations) on real SQLite and PostgreSQL databases.

The old database is built from the schema main created before migrations existed (captured
from commit 55ee1a1's api/db.py in tests/integration/fixtures/store-55ee1a1.*.sql), filled the
way that main's store filled it, then opened by today's API, which upgrades it in place; its
history is read back over HTTP (test client) and must be what was stored.
"""

# response.json is "Any | None" to mypy: indexing it is what these tests do
# mypy: disable-error-code="index"

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from api import create_app, runtime_of
from api.db import create_database_engine, metadata
from api.migrations import current_revision, head_revision, history, upgrade
from api.rows import ts_to_ms
from tests.support.api import (  # noqa: F401  (fixtures)
    at,
    database_url_fixture,
    feed,
    fresh_now_fixture,
    prediction,
    test_config,
    test_now,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
SENSORS = ("air_temp_k", "process_temp_k", "rotational_speed_rpm", "torque_nm", "tool_wear_min")
MINUTE_MS = 60_000
RANK = {"normal": 0, "predictive": 1, "failure": 2}
OLD_MACHINES = ("old-a", "old-b")
READINGS = 180  # per machine, one a minute over the last three hours


def _old_schema(url: str) -> sa.Engine:
    """A database exactly as main (55ee1a1) created it: its DDL, no alembic_version table."""
    engine = create_database_engine(url)
    lines = (FIXTURES / f"store-55ee1a1.{engine.dialect.name}.sql").read_text().splitlines()
    ddl = "\n".join(line for line in lines if not line.startswith("--"))
    with engine.begin() as conn:
        for statement in filter(None, (part.strip() for part in ddl.split(";"))):
            conn.exec_driver_sql(statement)
    return engine


def _old_rows(machine: str) -> list[dict[str, Any]]:
    """Predictions in main's row shape: one column per AI4I value; floats that JSON must keep exact."""
    rows = []
    for n in range(READINGS):
        status = "failure" if n % 45 == 7 else "predictive" if n % 9 == 4 else "normal"
        rows.append(
            {
                "machine_id": machine,
                "reading_id": f"{machine}-{n:05d}",
                "ts_ms": ts_to_ms(at(60 * (READINGS - n) - 7)),
                "scored_at": at(60 * (READINGS - n) - 8),
                "status": status,
                "failure_probability": round(0.01 + n / 400, 4),
                "predicted_mode": "PWF" if status != "normal" else None,
                "model_version": "3f2a9c1b7d04",
                "threshold": 0.41,
                "type": "LMH"[n % 3],
                "air_temp_k": 298.1 + n * 0.1,  # 298.1 + 0.1 * n: many need 17 digits to round-trip
                "process_temp_k": 308.0 + (0.1 + 0.2) * n,
                "rotational_speed_rpm": 1400.0 + n,
                "torque_nm": 40.0 + n / 3,
                "tool_wear_min": float(n),
                "product_id": None if n % 4 == 0 else f"L{47000 + n}",
                "failure": 1 if status == "failure" else 0,
                "failure_description": "Power Failure" if status == "failure" else None,
                "explanation": json.dumps({"top": [{"feature": "torque_nm", "weight": 0.5}]}) if n % 5 == 0 else None,
                "schema_version": 1,
            }
        )
    return rows


def _old_rollup(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """history_minutes as main's add_to_rollup kept it."""
    minutes: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        minute = row["ts_ms"] // MINUTE_MS * MINUTE_MS
        acc = minutes.setdefault(
            (row["machine_id"], minute),
            {"machine_id": row["machine_id"], "minute_ms": minute, "n": 0, "sum_ts_offset": 0,
             **{f"sum_{name}": 0.0 for name in SENSORS}, "max_probability": 0.0, "max_rank": 0},
        )  # fmt: skip
        acc["n"] += 1
        acc["sum_ts_offset"] += row["ts_ms"] - minute
        for name in SENSORS:
            acc[f"sum_{name}"] += row[name]
        acc["max_probability"] = max(acc["max_probability"], row["failure_probability"])
        acc["max_rank"] = max(acc["max_rank"], RANK[row["status"]])
    return list(minutes.values())


def _fill_old(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    tables = sa.MetaData()
    tables.reflect(engine)
    stored = {machine: _old_rows(machine) for machine in OLD_MACHINES}
    with engine.begin() as conn:
        for machine, rows in stored.items():
            conn.execute(tables.tables["predictions"].insert(), rows)
            conn.execute(tables.tables["history_minutes"].insert(), _old_rollup(rows))
            counts = {name: sum(1 for r in rows if r["status"] == name) for name in ("predictive", "failure")}
            conn.execute(
                tables.tables["machines"].insert(),
                {"machine_id": machine, "state": "online", "state_ts_ms": ts_to_ms(at(30)),
                 "readings": len(rows), **counts},
            )  # fmt: skip
        alert = {
            "kind": "predicted", "severity": "warning", "reading_id": "old-a-00004", "failure_probability": 0.6,
            "predicted_mode": "PWF", "message": "old-a: failure predicted", "schema_version": 1,
        }  # fmt: skip
        conn.execute(
            tables.tables["alerts"].insert(),
            [
                {**alert, "alert_id": "old-a-open", "machine_id": "old-a", "state": "open",
                 "opened_at_ms": ts_to_ms(at(600)), "cleared_at_ms": None, "acked_by": None, "acked_at_ms": None},
                {**alert, "alert_id": "old-b-cleared", "machine_id": "old-b", "state": "cleared",
                 "opened_at_ms": ts_to_ms(at(900)), "cleared_at_ms": ts_to_ms(at(800)), "acked_by": "ana",
                 "acked_at_ms": ts_to_ms(at(850))},
            ],
        )  # fmt: skip
        conn.execute(tables.tables["api_state"].insert(), {"key": "event_floor", "value": 41})
    return stored


def test_an_empty_database_is_created_at_the_newest_revision_as_api_db_describes(database_url: str) -> None:
    engine = create_database_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []  # api/db.py and the migrations describe the same schema
    upgrade(engine)  # again: nothing to do
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_database_made_by_main_before_migrations_is_upgraded_in_place_and_keeps_its_history(
    database_url: str,
) -> None:
    old = _old_schema(database_url)
    stored = _fill_old(old)
    assert current_revision(old) is None
    old.dispose()

    app = create_app(test_config(database_url))  # the API upgrades at start
    try:
        state = runtime_of(app)
        assert current_revision(state.engine) == head_revision()
        with state.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert state.hub.last_id == 41  # the saved event floor survived: ids go on from it
        client = app.test_client()

        machines = {m["machine_id"]: m for m in client.get("/api/machines").json["machines"]}
        rows = stored["old-a"]
        assert machines["old-a"]["profile"] == "ai4i-mill"
        assert machines["old-a"]["counts"] == {
            "readings": READINGS,
            "predictive": sum(1 for r in rows if r["status"] == "predictive"),
            "failure": sum(1 for r in rows if r["status"] == "failure"),
        }
        latest = machines["old-a"]["latest"]
        assert latest["reading_id"] == rows[-1]["reading_id"]
        assert latest["values"] == _values(rows[-1])
        assert [a["alert_id"] for a in machines["old-a"]["open_alerts"]] == ["old-a-open"]

        # the raw history: every value exactly as stored (17-digit floats too)
        since, until = at(READINGS * 60 + 60), at(0)
        history = client.get(f"/api/machines/old-a/history?since={since}&until={until}&limit=1000").json
        assert history["downsampled"] is False
        assert [p["values"] for p in history["points"]] == [_numbers(r) for r in rows]
        assert [p["failure_probability"] for p in history["points"]] == [r["failure_probability"] for r in rows]
        assert [p["status"] for p in history["points"]] == [r["status"] for r in rows]

        # downsampled over whole minutes: from the migrated rollup, the same means as the rows give
        buckets = client.get(f"/api/machines/old-a/history?since={since}&until={until}&limit=12").json
        assert buckets["downsampled"] is True
        assert len(buckets["points"]) == 12
        expected = _bucket_means(rows, 12)
        for point, means in zip(buckets["points"], expected, strict=True):
            assert point["values"] == pytest.approx(means, rel=1e-12)
        assert max(p["failure_probability"] for p in buckets["points"]) == max(r["failure_probability"] for r in rows)

        # buckets under a minute: averaged from the rows' stored JSON in SQL
        narrow = client.get(f"/api/machines/old-a/history?since={at(1800)}&until={until}&limit=20").json
        assert narrow["downsampled"] is True
        recent = [r for r in rows if r["ts_ms"] >= ts_to_ms(at(1800))]
        assert all(set(p["values"]) == set(SENSORS) for p in narrow["points"])
        assert narrow["points"][0]["values"]["torque_nm"] == pytest.approx(recent[0]["torque_nm"], abs=1)

        # the log, one reading, the export
        page = client.get("/api/log?machine=old-b&limit=500").json
        assert [item["reading_id"] for item in page["items"]] == [r["reading_id"] for r in reversed(stored["old-b"])]
        one = client.get(f"/api/readings/old-a/{rows[10]['reading_id']}").json
        assert one["values"] == _values(rows[10])
        assert one["explanation"] == json.loads(rows[10]["explanation"])
        assert (one["profile"], one["schema_version"], one["model_version"]) == ("ai4i-mill", 2, "3f2a9c1b7d04")
        exported = list(csv.DictReader(io.StringIO(client.get("/api/export.csv?machine=old-a").text)))
        assert len(exported) == READINGS
        assert {name: float(exported[-1][name]) for name in SENSORS} == {name: rows[0][name] for name in SENSORS}
        assert exported[-1]["type"] == rows[0]["type"]

        cleared = client.get("/api/alerts?state=cleared").json["alerts"]
        assert [(a["alert_id"], a["acked_by"]) for a in cleared] == [("old-b-cleared", "ana")]

        # and it goes on: a new prediction is stored next to the old ones
        feed(app, predictions=[prediction("old-a", "new-1", at(1))])
        after = client.get("/api/machines/old-a").json
        assert after["counts"]["readings"] == READINGS + 1
        assert after["latest"]["reading_id"] == "new-1"
    finally:
        runtime_of(app).stop()


def test_two_processes_starting_at_once_upgrade_once(database_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        engine = create_database_engine(database_url)
        try:
            barrier.wait()
            upgrade(engine)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    engine = create_database_engine(database_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_start_waits_while_another_creates_the_schema(tmp_path: Path) -> None:
    # Another starter holds its first transaction on a new, still empty file: switching the
    # file to WAL fails at once there (SQLite skips its busy handler), so the start must wait.
    path = tmp_path / "api.db"
    first = sqlite3.connect(path, isolation_level=None)
    first.execute("BEGIN IMMEDIATE")
    first.execute("CREATE TABLE someone_elses_first_table (x INTEGER)")
    errors: list[BaseException] = []

    def start() -> None:
        engine = create_database_engine(f"sqlite:///{path}")
        try:
            upgrade(engine)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    waiting = threading.Thread(target=start)
    waiting.start()
    waiting.join(timeout=0.5)
    assert waiting.is_alive(), f"the start did not wait: {errors}"
    first.execute("COMMIT")
    first.close()
    waiting.join(timeout=60)
    assert errors == []
    engine = create_database_engine(f"sqlite:///{path}")
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_the_cli_shows_and_runs_the_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"FOREWARN_DATABASE_URL": url, "FOREWARN_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api", "db", *args],
            check=False,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    before = run("status")
    assert before.returncode == 0, before.stderr
    assert f"current: none; newest: {head_revision()}" in before.stdout
    listed = run("history")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [rev for rev, _parent, _doc in history()]
    upgraded = run("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"current: {head_revision()}; newest: {head_revision()}" in run("status").stdout
    bad = run("upgrade", "9999")
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0  # one line, no traceback
    assert "9999" in bad.stderr


def _values(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("type", *SENSORS, "product_id")
    return {key: row[key] for key in keys if row[key] is not None}


def _numbers(row: dict[str, Any]) -> dict[str, float]:
    return {name: row[name] for name in SENSORS}


def _bucket_means(rows: list[dict[str, Any]], limit: int) -> list[dict[str, float]]:
    """What history_minutes bucketing gives: whole-minute buckets from the first reading's minute."""
    low, high = rows[0]["ts_ms"], rows[-1]["ts_ms"]
    raw_width = -(-(high - low + 1) // limit)
    width = -(-raw_width // MINUTE_MS) * MINUTE_MS
    base = low // MINUTE_MS * MINUTE_MS
    buckets: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        buckets.setdefault((row["ts_ms"] // MINUTE_MS * MINUTE_MS - base) // width, []).append(row)
    return [
        {name: sum(r[name] for r in group) / len(group) for name in SENSORS} for _k, group in sorted(buckets.items())
    ]


def _profiles_era_rows(machine: str) -> list[dict[str, Any]]:
    """Predictions as revision 0002 stored them: values in JSON, a profile, no model kind."""
    base = {"predicted_mode": None, "model_version": "3f2a9c1b7d04", "threshold": 0.41, "profile": "ai4i-mill",
            "failure": 0, "failure_description": None, "explanation": None, "schema_version": 2}  # fmt: skip
    return [
        {
            **base,
            "machine_id": machine,
            "reading_id": f"{machine}-{n:05d}",
            "ts_ms": ts_to_ms(at(60 * (30 - n) + 5)),
            "scored_at": at(60 * (30 - n) + 4),
            "status": "predictive" if n % 7 == 3 else "normal",
            "failure_probability": round(0.01 + n / 100, 4),
            "values_json": json.dumps({"torque_nm": 40.0 + n}),
        }
        for n in range(30)
    ]


def _profiles_era_rollup(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """history_minutes and history_minute_values as revision 0002's writer kept them."""
    minutes: dict[int, dict[str, Any]] = {}
    values: dict[int, dict[str, Any]] = {}
    for row in rows:
        machine, minute = row["machine_id"], row["ts_ms"] // MINUTE_MS * MINUTE_MS
        acc = minutes.setdefault(minute, {"machine_id": machine, "minute_ms": minute, "n": 0, "sum_ts_offset": 0,
                                          "max_probability": 0.0, "max_rank": 0})  # fmt: skip
        acc["n"] += 1
        acc["sum_ts_offset"] += row["ts_ms"] - minute
        acc["max_probability"] = max(acc["max_probability"], row["failure_probability"])
        acc["max_rank"] = max(acc["max_rank"], RANK[row["status"]])
        total = values.setdefault(minute, {"machine_id": machine, "minute_ms": minute, "field": "torque_nm",
                                           "n": 0, "total": 0.0})  # fmt: skip
        total["n"] += 1
        total["total"] += json.loads(row["values_json"])["torque_nm"]
    return list(minutes.values()), list(values.values())


def test_a_database_of_revision_0002_gains_the_model_kinds_and_keeps_its_history(database_url: str) -> None:
    engine = create_database_engine(database_url)
    upgrade(engine, "0002")
    assert current_revision(engine) == "0002"
    tables = sa.MetaData()
    tables.reflect(engine)
    rows = _profiles_era_rows("mill-0002")
    minutes, values = _profiles_era_rollup(rows)
    old_alert = {
        "alert_id": "mill-0002-open", "machine_id": "mill-0002", "profile": "ai4i-mill", "kind": "predicted",
        "severity": "warning", "state": "open", "opened_at_ms": ts_to_ms(at(600)), "reading_id": rows[3]["reading_id"],
        "failure_probability": 0.6, "predicted_mode": "PWF", "message": "failure predicted", "schema_version": 1,
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(tables.tables["predictions"].insert(), rows)
        conn.execute(tables.tables["history_minutes"].insert(), minutes)
        conn.execute(tables.tables["history_minute_values"].insert(), values)
        conn.execute(
            tables.tables["machines"].insert(),
            {"machine_id": "mill-0002", "profile": "ai4i-mill", "readings": len(rows), "predictive": 4, "failure": 0},
        )
        conn.execute(tables.tables["alerts"].insert(), old_alert)
    engine.dispose()

    app = create_app(test_config(database_url))  # upgrades to the newest revision at start
    try:
        state = runtime_of(app)
        assert current_revision(state.engine) == head_revision()
        with state.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        client = app.test_client()
        latest = client.get("/api/machines/mill-0002").json["latest"]
        assert (latest["reading_id"], latest["model_kind"], latest["rul"], latest["anomaly_score"]) == (
            rows[-1]["reading_id"], "classifier", None, None,
        )  # fmt: skip
        since, until = at(40 * 60), at(0)
        raw = client.get(f"/api/machines/mill-0002/history?since={since}&until={until}").json["points"]
        assert [p["failure_probability"] for p in raw] == [r["failure_probability"] for r in rows]
        assert {(p["rul"], p["anomaly_score"]) for p in raw} == {(None, None)}
        wide = client.get(f"/api/machines/mill-0002/history?since={since}&until={until}&limit=3").json["points"]
        assert len(wide) == 3  # from the migrated rollup: minutes without a RUL give none
        assert {(p["rul"], p["rul_low"], p["anomaly_score"]) for p in wide} == {(None, None, None)}
        assert [p["values"]["torque_nm"] for p in wide] == [44.5, 54.5, 64.5]
        (kept,) = client.get("/api/alerts").json["alerts"]
        assert (kept["alert_id"], kept["rul"], kept["anomaly_score"]) == ("mill-0002-open", None, None)

        # and it goes on: an engine's RUL and a pump's anomaly score are stored beside the old rows
        feed(
            app,
            predictions=[
                prediction("engine-0003", "c1", at(2), model_kind="rul", rul=17.0, rul_low=11.0, rul_high=25.0,
                           rul_unit="cycles", rul_horizon=30.0, status="predictive", failure_probability=None,
                           threshold=None),
                prediction("pump-0003", "a1", at(2), model_kind="anomaly", anomaly_score=6.0, anomaly_threshold=4.0,
                           status="predictive", failure_probability=None, threshold=None),
            ],
        )  # fmt: skip
        engine_now = client.get("/api/machines/engine-0003").json["latest"]
        assert (engine_now["rul"], engine_now["rul_low"], engine_now["rul_high"]) == (17.0, 11.0, 25.0)
        (point,) = client.get(f"/api/machines/pump-0003/history?since={since}&until={until}").json["points"]
        assert point["anomaly_score"] == 6.0
    finally:
        runtime_of(app).stop()
