"""The history database: its tables in SQLAlchemy Core, SQLite (WAL) or PostgreSQL.

The schema is versioned: api/migrations (Alembic) creates and upgrades it, at every API start
(`python -m api db ...` to look or run by hand). This module describes the newest revision;
a change here goes with a new migration (tests/integration/test_api_migrations.py compares them).

- ``predictions``: one row per scored reading. A reading's values follow its machine's profile,
  so they are one JSON object (``values_json``, compact text) rather than a column per field:
  a new profile or field needs no migration. Primary key (machine_id, reading_id) makes
  redelivery harmless. A remaining-useful-life or anomaly model's outputs have columns of their
  own (null for a classifier's prediction). Timestamps are integer milliseconds since the epoch (``ts_ms``) so range
  scans, cursors and downsampling buckets are plain integer arithmetic on both engines.
- ``alerts``: one row per alert id, updated when it clears or is acknowledged.
- ``history_minutes`` and ``history_minute_values``: per machine and minute, the count, time
  offsets, maximum probability, worst status, the sums of remaining useful life (and its
  interval) and the top anomaly score, and per numeric field its count and sum, so a
  long history window is bucketed from a few thousand rows instead of hundreds of thousands.
- ``shadow_predictions``: a challenger model's prediction of a reading (issue 17: champion and
  challenger), one row per (machine, reading, model version); never alerts, read by
  ``python -m training compare``. The reading's values stay in ``predictions``.
- ``verdicts``: every verdict given to an alert (who, when, the model version that raised it);
  the latest of an alert is its verdict, the earlier ones its history.
- ``maintenance``: what operators did to a machine (tool replaced, repaired, inspected, other).
- ``snoozes`` and ``maintenance_windows``: when a machine's (or one alert's) events are
  recorded but not notified (the bot and the webhooks ask GET /api/silences).
- ``machines``: every machine ever heard of, its profile, its last reported status and running
  counts of its stored predictions (kept in step by the writer and the pruner, so the machine
  list never has to count a million rows).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from common.settings import ConfigError

__all__ = [
    "ROWS_PER_STATEMENT",
    "alerts",
    "api_state",
    "create_database_engine",
    "enable_wal",
    "history_minute_values",
    "history_minutes",
    "insert_rows",
    "machines",
    "maintenance",
    "maintenance_windows",
    "metadata",
    "multirow_insert_sql",
    "predictions",
    "shadow_predictions",
    "snoozes",
    "upsert",
    "verdicts",
]

metadata = sa.MetaData()

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("machine_id", sa.String(64), nullable=False),
    sa.Column("reading_id", sa.String(128), nullable=False),
    sa.Column("ts_ms", sa.BigInteger, nullable=False),
    sa.Column("scored_at", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("failure_probability", sa.Float),  # null: not scored (no model for the profile yet)
    sa.Column("predicted_mode", sa.String(64)),
    sa.Column("model_version", sa.String(64)),
    sa.Column("threshold", sa.Float),
    # what kind of model scored it; a rul model fills rul..rul_horizon, an anomaly detector the
    # anomaly columns (revision 0003)
    sa.Column("model_kind", sa.String(16), nullable=False, server_default="classifier"),
    sa.Column("rul", sa.Float),
    sa.Column("rul_low", sa.Float),
    sa.Column("rul_high", sa.Float),
    sa.Column("rul_unit", sa.String(32)),
    sa.Column("rul_horizon", sa.Float),
    sa.Column("anomaly_score", sa.Float),
    sa.Column("anomaly_threshold", sa.Float),
    sa.Column("profile", sa.String(64), nullable=False),
    sa.Column("values_json", sa.Text, nullable=False),  # the reading's values: {"field": value, ...}
    sa.Column("failure", sa.SmallInteger),
    sa.Column("failure_description", sa.String(256)),
    sa.Column("explanation", sa.Text),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("machine_id", "reading_id", name="pk_predictions"),
    # history of one machine and the log filtered by machine (newest first, cursor tie-breakers);
    # status and probability make counting and min/max index-only
    sa.Index("ix_predictions_machine_ts", "machine_id", "ts_ms", "reading_id", "status", "failure_probability"),
    # the log filtered by status
    sa.Index("ix_predictions_status_ts", "status", "ts_ms", "machine_id", "reading_id"),
    # the unfiltered log, retention pruning
    sa.Index("ix_predictions_ts", "ts_ms", "machine_id", "reading_id"),
)

shadow_predictions = sa.Table(
    "shadow_predictions",
    metadata,
    sa.Column("machine_id", sa.String(64), nullable=False),
    sa.Column("reading_id", sa.String(128), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("profile", sa.String(64), nullable=False),
    sa.Column("ts_ms", sa.BigInteger, nullable=False),
    sa.Column("scored_at", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("failure_probability", sa.Float),
    sa.Column("predicted_mode", sa.String(64)),
    sa.Column("threshold", sa.Float),
    sa.PrimaryKeyConstraint("machine_id", "reading_id", "model_version", name="pk_shadow_predictions"),
    # a challenger's record over a time window (comparison), retention pruning
    sa.Index("ix_shadow_predictions_model_ts", "profile", "model_version", "ts_ms"),
    sa.Index("ix_shadow_predictions_ts", "ts_ms"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.String(256), primary_key=True),
    sa.Column("machine_id", sa.String(64), nullable=False),
    sa.Column("profile", sa.String(64)),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("opened_at_ms", sa.BigInteger, nullable=False),
    sa.Column("reading_id", sa.String(128), nullable=False),
    sa.Column("failure_probability", sa.Float),  # null: a detected failure of a machine without a model
    sa.Column("predicted_mode", sa.String(64)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("rul", sa.Float),  # a `rul` alert: the remaining life when it opened
    sa.Column("rul_unit", sa.String(32)),
    sa.Column("anomaly_score", sa.Float),  # an `anomaly` alert: the score and the threshold it crossed
    sa.Column("anomaly_threshold", sa.Float),
    sa.Column("cleared_at_ms", sa.BigInteger),
    sa.Column("acked_by", sa.String(64)),
    sa.Column("acked_at_ms", sa.BigInteger),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Index("ix_alerts_state_opened", "state", "opened_at_ms"),
    sa.Index("ix_alerts_machine_opened", "machine_id", "opened_at_ms"),
)

# Per machine and minute: count, time offsets, maximum probability and worst status of the stored
# predictions, kept by the writer (new rows only) and the pruner. Long history windows are
# bucketed from here and from history_minute_values, not from rows.
history_minutes = sa.Table(
    "history_minutes",
    metadata,
    sa.Column("machine_id", sa.String(64), nullable=False),
    sa.Column("minute_ms", sa.BigInteger, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.Column("sum_ts_offset", sa.BigInteger, nullable=False),  # sum of ts_ms - minute_ms
    sa.Column("max_probability", sa.Float),  # null while no reading of the minute was scored
    sa.Column("max_rank", sa.SmallInteger, nullable=False),  # worst status: see api.rows.STATUS_RANK
    # readings that carried a remaining useful life, the sums of it and its interval; top anomaly score
    sa.Column("rul_n", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rul_sum", sa.Float, nullable=False, server_default="0"),
    sa.Column("rul_low_sum", sa.Float, nullable=False, server_default="0"),
    sa.Column("rul_high_sum", sa.Float, nullable=False, server_default="0"),
    sa.Column("max_anomaly_score", sa.Float),
    sa.PrimaryKeyConstraint("machine_id", "minute_ms", name="pk_history_minutes"),
)

# Per machine, minute and numeric field (whatever the machine's profile declares): how many
# readings carried it and their sum. A narrow table: a profile's fields need no column.
history_minute_values = sa.Table(
    "history_minute_values",
    metadata,
    sa.Column("machine_id", sa.String(64), nullable=False),
    sa.Column("minute_ms", sa.BigInteger, nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.PrimaryKeyConstraint("machine_id", "minute_ms", "field", name="pk_history_minute_values"),
    sqlite_with_rowid=False,  # SQLite: the rows live in the primary key's b-tree (upserts and range reads)
)

# The API's own small state: the last event id of a clean shutdown ("event_floor"), so the next
# process continues the ids and a dashboard resuming with Last-Event-ID misses nothing.
api_state = sa.Table(
    "api_state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

machines = sa.Table(
    "machines",
    metadata,
    sa.Column("machine_id", sa.String(64), primary_key=True),
    sa.Column("profile", sa.String(64)),  # the profile of its latest stored prediction
    sa.Column("state", sa.String(8)),  # last status message: online / offline / never heard
    sa.Column("state_ts_ms", sa.BigInteger),
    sa.Column("readings", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("predictive", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("failure", sa.BigInteger, nullable=False, server_default="0"),
)

# Feedback from the people who run the machines (revision 0004).
verdicts = sa.Table(
    "verdicts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.String(256), nullable=False),
    sa.Column("machine_id", sa.String(64), nullable=False),
    sa.Column("profile", sa.String(64)),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("verdict", sa.String(24), nullable=False),
    sa.Column("mode", sa.String(64)),
    sa.Column("note", sa.Text),
    sa.Column("by", sa.String(64)),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("model_version", sa.String(64)),
    sa.Column("alert_opened_at_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_verdicts_alert", "alert_id", "id"),
    sa.Index("ix_verdicts_at", "at_ms"),
)

maintenance = sa.Table(
    "maintenance",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("machine_id", sa.String(64), nullable=False),
    sa.Column("action", sa.String(24), nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("by", sa.String(64)),
    sa.Column("recorded_at_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_maintenance_machine_at", "machine_id", "at_ms"),
)

snoozes = sa.Table(
    "snoozes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("machine_id", sa.String(64)),  # the machine's every alert ...
    sa.Column("alert_id", sa.String(256)),  # ... or one alert
    sa.Column("until_ms", sa.BigInteger, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("by", sa.String(64)),
    sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_snoozes_until", "until_ms"),
)

maintenance_windows = sa.Table(
    "maintenance_windows",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("machine_id", sa.String(64), nullable=False),
    sa.Column("starts_ms", sa.BigInteger, nullable=False),
    sa.Column("ends_ms", sa.BigInteger, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("by", sa.String(64)),
    sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_maintenance_windows_ends", "ends_ms"),
)


def create_database_engine(url: str, pool_size: int = 10) -> sa.Engine:
    """An engine for `url`; SQLite files get WAL, synchronous=NORMAL and a busy timeout."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError("FOREWARN_DATABASE_URL is not a database URL") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"FOREWARN_DATABASE_URL: {parsed.get_backend_name()!r} is not sqlite or postgresql")
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername == "postgresql":
            # SQLAlchemy 2.1 picks psycopg 3 for a bare postgresql://; the project ships psycopg2
            parsed = parsed.set(drivername="postgresql+psycopg2")
        try:
            return sa.create_engine(parsed, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)
        except ImportError as exc:
            raise ConfigError(f"FOREWARN_DATABASE_URL: database driver missing ({exc})") from None
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        connect_args={"timeout": 30, "check_same_thread": False},
    )
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def enable_wal(connection: sqlite3.Connection, timeout_s: float) -> None:
    """Put the SQLite file behind `connection` in WAL mode, waiting out another starter.

    Switching a new file to WAL needs it unlocked, and SQLite reports "database is locked" at
    once, without its busy handler, while another process creates the schema in its first
    transaction (the file stays empty, so still in rollback mode, until that commits). Retry
    until the other one commits or `timeout_s` passes.
    """
    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL: readers never block the writer; NORMAL: durable at checkpoints, fast commits.
    enable_wal(connection, timeout_s=30)
    cursor = connection.cursor()
    for pragma in (
        "synchronous=NORMAL",
        "busy_timeout=30000",
        "temp_store=MEMORY",
        "cache_size=-32000",
        "mmap_size=268435456",
        # every 10,000 pages (40 MB of WAL), not SQLite's 1,000: a fleet's batch dirties a leaf per
        # machine in each machine-keyed index, and a page written again before the checkpoint is
        # copied once. The write path took 14 % less CPU (bench.bench_store).
        "wal_autocheckpoint=10000",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def upsert(engine_or_dialect: sa.Engine | sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT construct with ON CONFLICT support (SQLite or PostgreSQL)."""
    name = engine_or_dialect.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise RuntimeError(f"unsupported database {name!r}: use SQLite or PostgreSQL")


ROWS_PER_STATEMENT = 1_000  # rows per multi-row INSERT: 23 columns stay far below SQLite's 32,766 variables


def insert_rows(
    conn: sa.Connection, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]], tail: str
) -> list[sa.Row[Any]]:
    """Insert `rows` (values in `columns`' order) as multi-row statements ending in `tail` (ON CONFLICT ...).

    Returns what a ``RETURNING`` in `tail` returned (nothing without one). Plain SQL rather
    than SQLAlchemy constructs: on the ingest path SQLAlchemy's per-row parameter processing
    and its compiling of each multi-row statement cost more than the database itself.
    """
    returned: list[sa.Row[Any]] = []
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        part = rows[start : start + ROWS_PER_STATEMENT]
        sql = multirow_insert_sql(conn.dialect.paramstyle, table, columns, len(part), tail)
        result = conn.exec_driver_sql(sql, tuple(chain.from_iterable(part)))
        if result.returns_rows:
            returned.extend(result.fetchall())
    return returned


@lru_cache(maxsize=64)
def multirow_insert_sql(paramstyle: str, table: str, columns: tuple[str, ...], rows: int, tail: str) -> str:
    """``INSERT INTO table (columns) VALUES (...), ... tail`` with placeholders for `rows` rows.

    Standard on SQLite (>= 3.35) and PostgreSQL.
    """
    marker = "?" if paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([marker] * len(columns)) + ")"
    # only our own tables, columns and placeholders: the values travel as parameters
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * rows)} {tail}"  # noqa: S608
