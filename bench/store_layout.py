"""How to store a reading's values when the fields come from a profile: three layouts compared.

    .venv/bin/python -m bench.store_layout                # SQLite, 100,000 predictions
    .venv/bin/python -m bench.store_layout --rows 20000 --database-url postgresql://...

(a) wide: one column per field (main before profiles: needs a migration per field and profile);
(b) json: one JSON text column per row (what api/db.py does);
(c) narrow: one row per (prediction, numeric field) in a second table.

Each is written the way api/store.py writes: multi-row INSERT ... ON CONFLICT DO NOTHING,
batches of 500 predictions in one transaction, with the indexes the reads need. Then one
machine's latest 1,000 readings with their values are read back (the raw history). Prints
predictions/s, bytes per prediction (SQLite) and the read's median time, with ratios to (a).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api.db import create_database_engine

FIELDS = ("f1", "f2", "f3", "f4", "f5")  # five numbers, like the AI4I profile
MACHINES = 100
BATCH = 500
ENVELOPE = ("machine_id", "reading_id", "ts_ms", "status", "failure_probability", "model_version", "threshold")
WIDE = f"""CREATE TABLE p_wide (machine_id VARCHAR(64) NOT NULL, reading_id VARCHAR(128) NOT NULL,
 ts_ms BIGINT NOT NULL, status VARCHAR(16) NOT NULL, failure_probability FLOAT, model_version VARCHAR(64),
 threshold FLOAT, category VARCHAR(8), {", ".join(f"{f} FLOAT" for f in FIELDS)},
 PRIMARY KEY (machine_id, reading_id));
CREATE INDEX ix_wide_machine ON p_wide (machine_id, ts_ms, reading_id, status, failure_probability,
 {", ".join(FIELDS)});
CREATE INDEX ix_wide_status ON p_wide (status, ts_ms, machine_id, reading_id);
CREATE INDEX ix_wide_ts ON p_wide (ts_ms, machine_id, reading_id)"""
JSON = """CREATE TABLE p_json (machine_id VARCHAR(64) NOT NULL, reading_id VARCHAR(128) NOT NULL,
 ts_ms BIGINT NOT NULL, status VARCHAR(16) NOT NULL, failure_probability FLOAT, model_version VARCHAR(64),
 threshold FLOAT, values_json TEXT NOT NULL, PRIMARY KEY (machine_id, reading_id));
CREATE INDEX ix_json_machine ON p_json (machine_id, ts_ms, reading_id, status, failure_probability);
CREATE INDEX ix_json_status ON p_json (status, ts_ms, machine_id, reading_id);
CREATE INDEX ix_json_ts ON p_json (ts_ms, machine_id, reading_id)"""
NARROW = """CREATE TABLE p_narrow (machine_id VARCHAR(64) NOT NULL, reading_id VARCHAR(128) NOT NULL,
 ts_ms BIGINT NOT NULL, status VARCHAR(16) NOT NULL, failure_probability FLOAT, model_version VARCHAR(64),
 threshold FLOAT, category VARCHAR(8), PRIMARY KEY (machine_id, reading_id));
CREATE INDEX ix_narrow_machine ON p_narrow (machine_id, ts_ms, reading_id, status, failure_probability);
CREATE INDEX ix_narrow_status ON p_narrow (status, ts_ms, machine_id, reading_id);
CREATE INDEX ix_narrow_ts ON p_narrow (ts_ms, machine_id, reading_id);
CREATE TABLE p_values (machine_id VARCHAR(64) NOT NULL, reading_id VARCHAR(128) NOT NULL,
 field VARCHAR(64) NOT NULL, value FLOAT NOT NULL, PRIMARY KEY (machine_id, reading_id, field))"""


def rows(count: int, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = int(time.time() * 1000) - 86_400_000
    out = []
    for n in range(count):
        machine = n % MACHINES
        values = {name: round(rng.uniform(0, 1000), 2) for name in FIELDS}
        out.append({"machine_id": f"m{machine:03d}", "reading_id": f"r{n:08d}", "ts_ms": start + n * 10,
                    "status": "normal", "failure_probability": rng.random(), "model_version": "v1", "threshold": 0.4,
                    "category": "LMH"[n % 3], "values": values})  # fmt: skip
    return out


def insert(conn: sa.Connection, table: str, columns: tuple[str, ...], params: list[tuple[Any, ...]]) -> None:
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([marker] * len(columns)) + ")"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * len(params))} ON CONFLICT DO NOTHING"  # noqa: S608
    conn.exec_driver_sql(sql, tuple(value for row in params for value in row))


def write_wide(conn: sa.Connection, batch: list[dict[str, Any]]) -> None:
    columns = (*ENVELOPE, "category", *FIELDS)
    insert(conn, "p_wide", columns, [(*(r[c] for c in ENVELOPE), r["category"], *r["values"].values()) for r in batch])


def write_json(conn: sa.Connection, batch: list[dict[str, Any]]) -> None:
    columns = (*ENVELOPE, "values_json")
    params = [
        (*(r[c] for c in ENVELOPE), json.dumps({"category": r["category"], **r["values"]}, separators=(",", ":")))
        for r in batch
    ]
    insert(conn, "p_json", columns, params)


def write_narrow(conn: sa.Connection, batch: list[dict[str, Any]]) -> None:
    insert(conn, "p_narrow", (*ENVELOPE, "category"), [(*(r[c] for c in ENVELOPE), r["category"]) for r in batch])
    values = [(r["machine_id"], r["reading_id"], name, value) for r in batch for name, value in r["values"].items()]
    for start in range(0, len(values), 1000):
        insert(conn, "p_values", ("machine_id", "reading_id", "field", "value"), values[start : start + 1000])


READS = {
    "wide": f"SELECT ts_ms, {', '.join(FIELDS)} FROM p_wide "  # noqa: S608
    "WHERE machine_id = :m ORDER BY ts_ms DESC LIMIT 1000",
    "json": "SELECT ts_ms, values_json FROM p_json WHERE machine_id = :m ORDER BY ts_ms DESC LIMIT 1000",
    "narrow": "SELECT p.ts_ms, v.field, v.value FROM (SELECT machine_id, reading_id, ts_ms FROM p_narrow "
    "WHERE machine_id = :m ORDER BY ts_ms DESC LIMIT 1000) p JOIN p_values v "
    "ON v.machine_id = p.machine_id AND v.reading_id = p.reading_id",
}


def decode(layout: str, result: Sequence[Any]) -> int:
    """Values as dicts in Python, as the API builds history points."""
    if layout == "json":
        return sum(len(json.loads(text)) for _ts, text in result)
    if layout == "narrow":
        points: dict[int, dict[str, float]] = {}
        for ts, name, value in result:
            points.setdefault(ts, {})[name] = value
        return sum(map(len, points.values()))
    return sum(len(dict(zip(FIELDS, row[1:], strict=True))) for row in result)


def measure(
    engine: sa.Engine, layout: str, ddl: str, write: Callable[..., None], data: list[dict[str, Any]]
) -> dict[str, float]:
    with engine.begin() as conn:
        for statement in ddl.split(";"):
            conn.exec_driver_sql(statement)
    started = time.perf_counter()
    for start in range(0, len(data), BATCH):
        with engine.begin() as conn:
            write(conn, data[start : start + BATCH])
    rate = len(data) / (time.perf_counter() - started)
    samples = []
    with engine.connect() as conn:
        for n in range(40):
            began = time.perf_counter()
            found = conn.execute(sa.text(READS[layout]), {"m": f"m{n % MACHINES:03d}"}).all()
            decode(layout, found)
            samples.append((time.perf_counter() - began) * 1000)
    return {"rate": rate, "read_ms": statistics.median(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.store_layout", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temp folder per layout")
    args = parser.parse_args()
    data = rows(args.rows)
    folder = Path(tempfile.mkdtemp(prefix="forewarn-layout-"))
    layouts = {"wide": (WIDE, write_wide), "json": (JSON, write_json), "narrow": (NARROW, write_narrow)}
    results: dict[str, dict[str, float]] = {}
    for name, (ddl, write) in layouts.items():
        path = folder / f"{name}.db"
        engine = create_database_engine(args.database_url or f"sqlite:///{path}")
        results[name] = measure(engine, name, ddl, write, data)
        with engine.connect() as conn:  # let the WAL fold into the file before sizing it
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        results[name]["bytes"] = path.stat().st_size / args.rows if path.exists() else float("nan")
    base = results["wide"]
    print(
        f"{args.rows:,} predictions of {MACHINES} machines, {len(FIELDS)} numbers + 1 category each, batches of {BATCH}"
    )
    print(
        f"{'layout':<8} {'write/s':>10} {'x wide':>7} {'bytes/row':>10} {'x wide':>7} "
        f"{'read 1000 ms':>13} {'x wide':>7}"
    )
    for name, r in results.items():
        print(
            f"{name:<8} {r['rate']:>10,.0f} {r['rate'] / base['rate']:>7.2f} {r['bytes']:>10,.0f} "
            f"{r['bytes'] / base['bytes']:>7.2f} {r['read_ms']:>13.2f} {r['read_ms'] / base['read_ms']:>7.2f}"
        )


if __name__ == "__main__":
    main()
