"""Read a profile's history from the API's store (SQLite or PostgreSQL): the thin I/O side.

Readings come from ``predictions`` (the champion's record of every reading, with its values),
alerts from ``alerts``, challengers' predictions from ``shadow_predictions`` (api/db.py).
Verdicts and the maintenance log come from the ``verdicts`` and ``maintenance`` tables (issue
17's verdicts and maintenance log); they are read by reflection, by the contract's column
names (``alert_id, verdict, mode, at`` and ``machine_id, action, at``; ``at`` may be stored as
RFC 3339 text or as ``at_ms``), and a store without them simply has no verdicts yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from api.db import alerts, create_database_engine, predictions, shadow_predictions
from api.rows import ts_to_ms
from training.labels import StoredAlert, StoredMaintenance, StoredReading, StoredVerdict

__all__ = [
    "History",
    "HistoryError",
    "ShadowRow",
    "open_store",
    "read_history",
    "read_shadow",
    "shadow_since",
    "shadow_versions",
]


class HistoryError(Exception):
    """A history that cannot be used (unreachable store, no readings, no labels); one line."""


@dataclass(frozen=True)
class History:
    profile: str
    readings: list[StoredReading]
    alerts: list[StoredAlert]
    verdicts: list[StoredVerdict]
    maintenance: list[StoredMaintenance]
    tables: tuple[str, ...]  # the sources that were there to read


@dataclass(frozen=True, slots=True)
class ShadowRow:
    machine_id: str
    reading_id: str
    ts_ms: int
    status: str
    failure_probability: float | None
    threshold: float | None


def open_store(url: str) -> sa.Engine:
    """An engine on the API's store; HistoryError when it cannot be reached or holds no history."""
    try:
        engine = create_database_engine(url, pool_size=2)
        tables = set(sa.inspect(engine).get_table_names())
    except Exception as exc:  # a bad URL, a missing driver, a server that does not answer
        raise HistoryError(f"cannot read the store {_safe(url)}: {' '.join(str(exc).split())[:200]}") from None
    if "predictions" not in tables:
        raise HistoryError(f"the store {_safe(url)} holds no history (no predictions table): has the API run?")
    return engine


def read_history(engine: sa.Engine, profile_id: str, since_ms: int | None = None) -> History:
    """Everything stored about `profile_id` (from `since_ms` on): readings, alerts, verdicts, maintenance."""
    tables = set(sa.inspect(engine).get_table_names())
    p = predictions.c
    query = sa.select(
        p.machine_id,
        p.reading_id,
        p.ts_ms,
        p.values_json,
        p.failure,
        p.failure_description,
        p.status,
        p.model_version,
        p.failure_probability,
        p.threshold,
    ).where(p.profile == profile_id)
    if since_ms is not None:
        query = query.where(p.ts_ms >= since_ms)
    with engine.connect() as conn:
        readings = [
            StoredReading(
                row[0], row[1], int(row[2]), json.loads(row[3]), row[4], row[5], row[6], row[7], row[8], row[9]
            )
            for row in conn.execute(query.order_by(p.ts_ms, p.machine_id, p.reading_id))
        ]
        machines = {reading.machine_id for reading in readings}
        found_alerts = _alerts(conn, machines)
        verdicts = _verdicts(conn, {a.alert_id for a in found_alerts}) if "verdicts" in tables else []
        maintenance = _maintenance(conn, machines) if "maintenance" in tables else []
    present = tuple(name for name in ("predictions", "alerts", "verdicts", "maintenance") if name in tables)
    return History(profile_id, readings, found_alerts, verdicts, maintenance, present)


def shadow_versions(engine: sa.Engine, profile_id: str) -> list[str]:
    """The challenger versions that scored readings of `profile_id`, most recent first."""
    s = shadow_predictions.c
    query = (
        sa.select(s.model_version, sa.func.max(s.ts_ms).label("last"))
        .where(s.profile == profile_id)
        .group_by(s.model_version)
        .order_by(sa.desc("last"))
    )
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(query)]


def shadow_since(engine: sa.Engine, profile_id: str, version: str) -> int | None:
    """When challenger `version` first scored a stored reading of `profile_id` (ts_ms), or None."""
    s = shadow_predictions.c
    query = sa.select(sa.func.min(s.ts_ms)).where(s.profile == profile_id, s.model_version == version)
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    return None if found is None else int(found)


def read_shadow(engine: sa.Engine, profile_id: str, version: str) -> list[ShadowRow]:
    """What challenger `version` said about each reading it scored."""
    s = shadow_predictions.c
    query = sa.select(s.machine_id, s.reading_id, s.ts_ms, s.status, s.failure_probability, s.threshold).where(
        s.profile == profile_id, s.model_version == version
    )
    with engine.connect() as conn:
        return [ShadowRow(row[0], row[1], int(row[2]), row[3], row[4], row[5]) for row in conn.execute(query)]


def _alerts(conn: sa.Connection, machines: set[str]) -> list[StoredAlert]:
    if not machines:
        return []
    a = alerts.c
    query = sa.select(
        a.alert_id, a.machine_id, a.kind, a.opened_at_ms, a.cleared_at_ms, a.reading_id, a.predicted_mode
    ).where(a.machine_id.in_(sorted(machines)))
    return [StoredAlert(*row) for row in conn.execute(query)]


def _verdicts(conn: sa.Connection, alert_ids: set[str]) -> list[StoredVerdict]:
    table = sa.Table("verdicts", sa.MetaData(), autoload_with=conn)
    rows = conn.execute(sa.select(table)).mappings()
    return [
        StoredVerdict(str(row["alert_id"]), str(row["verdict"]), row.get("mode"), _at_ms(row))
        for row in rows
        if row["alert_id"] in alert_ids
    ]


def _maintenance(conn: sa.Connection, machines: Iterable[str]) -> list[StoredMaintenance]:
    table = sa.Table("maintenance", sa.MetaData(), autoload_with=conn)
    query = sa.select(table).where(table.c.machine_id.in_(sorted(machines)))
    return [
        StoredMaintenance(str(row["machine_id"]), str(row["action"]), _at_ms(row))
        for row in conn.execute(query).mappings()
    ]


def _at_ms(row: Any) -> int:
    """When a verdict was given or maintenance done: an ``at_ms`` column, or ``at`` as text or ms."""
    if "at_ms" in row and row["at_ms"] is not None:
        return int(row["at_ms"])
    at = row["at"]
    if isinstance(at, datetime):  # a timestamp column
        return ts_to_ms(at.isoformat() if at.tzinfo else f"{at.isoformat()}+00:00")
    return int(at) if isinstance(at, int | float) else ts_to_ms(str(at))


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(not a database URL)"
