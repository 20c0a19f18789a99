"""The history database: three tables in SQLAlchemy Core, SQLite (WAL) or PostgreSQL.

- ``predictions``: one row per scored reading, the reading's values as columns, the
  explanation as JSON text; primary key (machine_id, reading_id) makes redelivery harmless.
  Timestamps are integer milliseconds since the epoch (``ts_ms``) so range scans, cursors and
  downsampling buckets are plain integer arithmetic on both engines.
- ``alerts``: one row per alert id, updated when it clears or is acknowledged.
- ``history_minutes``: per machine and minute, count, sums and maxima of the predictions, so a
  long history window is bucketed from a few thousand rows instead of hundreds of thousands.
- ``machines``: every machine ever heard of, its last reported status and running counts of its
  stored predictions (kept in step by the writer and the pruner, so the machine list never
  has to count a million rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from common.settings import ConfigError

__all__ = [
    "alerts",
    "api_state",
    "create_database_engine",
    "create_schema",
    "history_minutes",
    "machines",
    "metadata",
    "predictions",
    "upsert",
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
    sa.Column("failure_probability", sa.Float, nullable=False),
    sa.Column("predicted_mode", sa.String(64)),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("type", sa.String(1), nullable=False),
    sa.Column("air_temp_k", sa.Float, nullable=False),
    sa.Column("process_temp_k", sa.Float, nullable=False),
    sa.Column("rotational_speed_rpm", sa.Float, nullable=False),
    sa.Column("torque_nm", sa.Float, nullable=False),
    sa.Column("tool_wear_min", sa.Float, nullable=False),
    sa.Column("product_id", sa.String(64)),
    sa.Column("failure", sa.SmallInteger),
    sa.Column("failure_description", sa.String(256)),
    sa.Column("explanation", sa.Text),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("machine_id", "reading_id", name="pk_predictions"),
    # history of one machine and the log filtered by machine (newest first, cursor tie-breakers);
    # the trailing columns make the history's scan index-only: one machine's rows are contiguous
    # in the index but scattered over the table
    sa.Index(
        "ix_predictions_machine_ts",
        "machine_id",
        "ts_ms",
        "reading_id",
        "status",
        "failure_probability",
        "air_temp_k",
        "process_temp_k",
        "rotational_speed_rpm",
        "torque_nm",
        "tool_wear_min",
    ),
    # the log filtered by status
    sa.Index("ix_predictions_status_ts", "status", "ts_ms", "machine_id", "reading_id"),
    # the unfiltered log, retention pruning
    sa.Index("ix_predictions_ts", "ts_ms", "machine_id", "reading_id"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.String(256), primary_key=True),
    sa.Column("machine_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("opened_at_ms", sa.BigInteger, nullable=False),
    sa.Column("reading_id", sa.String(128), nullable=False),
    sa.Column("failure_probability", sa.Float, nullable=False),
    sa.Column("predicted_mode", sa.String(64)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("cleared_at_ms", sa.BigInteger),
    sa.Column("acked_by", sa.String(64)),
    sa.Column("acked_at_ms", sa.BigInteger),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Index("ix_alerts_state_opened", "state", "opened_at_ms"),
    sa.Index("ix_alerts_machine_opened", "machine_id", "opened_at_ms"),
)

# Per machine and minute: count, sums and maxima of the stored predictions, kept by the writer
# (new rows only) and the pruner. Long history windows are bucketed from here, not from rows.
history_minutes = sa.Table(
    "history_minutes",
    metadata,
    sa.Column("machine_id", sa.String(64), nullable=False),
    sa.Column("minute_ms", sa.BigInteger, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.Column("sum_ts_offset", sa.BigInteger, nullable=False),  # sum of ts_ms - minute_ms
    *(
        sa.Column(f"sum_{name}", sa.Float, nullable=False)
        for name in ("air_temp_k", "process_temp_k", "rotational_speed_rpm", "torque_nm", "tool_wear_min")
    ),
    sa.Column("max_probability", sa.Float, nullable=False),
    sa.Column("max_rank", sa.SmallInteger, nullable=False),  # worst status: 0 normal, 1 predictive, 2 failure
    sa.PrimaryKeyConstraint("machine_id", "minute_ms", name="pk_history_minutes"),
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
    sa.Column("state", sa.String(8)),  # last status message: online / offline / never heard
    sa.Column("state_ts_ms", sa.BigInteger),
    sa.Column("readings", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("predictive", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("failure", sa.BigInteger, nullable=False, server_default="0"),
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


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL: readers never block the writer; NORMAL: durable at checkpoints, fast commits.
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "busy_timeout=30000",
        "temp_store=MEMORY",
        "cache_size=-32000",
        "mmap_size=268435456",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def create_schema(engine: sa.Engine) -> None:
    """Create missing tables and indexes (idempotent)."""
    metadata.create_all(engine, checkfirst=True)


def upsert(engine_or_dialect: sa.Engine | sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT construct with ON CONFLICT support (SQLite or PostgreSQL)."""
    name = engine_or_dialect.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise RuntimeError(f"unsupported database {name!r}: use SQLite or PostgreSQL")
