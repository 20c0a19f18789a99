"""The read side of the history: machine state at start, history, the log, alerts, export.

Each query is shaped for one index of api/db.py: history and a machine's log walk
(machine_id, ts_ms, reading_id); the status-filtered log walks (status, ts_ms, ...); the
unfiltered log and pruning walk (ts_ms, ...). Pages use keyset cursors, never OFFSET.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from api.db import alerts, machines, predictions
from api.history import History, load_history, numeric_values
from api.rows import Cursor, alert_view, prediction_view
from api.state import MachineState

__all__ = ["History", "LogFilter", "Queries"]


@dataclass(frozen=True)
class LogFilter:
    """The log's and the export's filters; None means no filter."""

    status: str | None = None
    machine_id: str | None = None
    profile: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None


class Queries:
    """Reads from the history database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def machine_states(self) -> list[MachineState]:
        """Every known machine with its latest prediction, status, counts and open alerts."""
        p = predictions.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(machines)).mappings().all()
            open_alerts = conn.execute(sa.select(alerts).where(alerts.c.state == "open")).mappings().all()
            states = {row["machine_id"]: _machine_state(row) for row in rows}
            for state in states.values():
                latest = (
                    conn.execute(
                        sa.select(predictions)
                        .where(p.machine_id == state.machine_id)
                        .order_by(p.ts_ms.desc(), p.reading_id.desc())
                        .limit(1)
                    )
                    .mappings()
                    .first()
                )
                if latest is not None:
                    state.latest, state.latest_ts_ms = prediction_view(latest), latest["ts_ms"]
        for row in open_alerts:
            if row["machine_id"] in states:
                states[row["machine_id"]].open_alerts[row["alert_id"]] = alert_view(row)
        return list(states.values())

    def history(self, machine_id: str, since_ms: int, until_ms: int, limit: int) -> History:
        """Oldest-first points of one machine; bucketed on the server when more than `limit`."""
        with self.engine.connect() as conn:
            return load_history(conn, machine_id, since_ms, until_ms, limit)

    def log_page(
        self, filters: LogFilter, limit: int, after: Cursor | None
    ) -> tuple[list[dict[str, Any]], Cursor | None]:
        """Newest-first predictions after `after`, and the cursor of the next page (None at the end)."""
        with self.engine.connect() as conn:
            rows = conn.execute(_log_select(filters, after).limit(limit + 1)).mappings().all()
        page = rows[:limit]
        more = len(rows) > limit
        last = page[-1] if page else None
        cursor = (last["ts_ms"], last["machine_id"], last["reading_id"]) if more and last else None
        return [prediction_view(row) for row in page], cursor

    def iter_log(self, filters: LogFilter, page_size: int = 1_000) -> Iterator[dict[str, Any]]:
        """Every matching prediction, newest first, a page per short-lived connection."""
        after: Cursor | None = None
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(_log_select(filters, after).limit(page_size)).mappings().all()
            for row in rows:
                yield prediction_view(row)
            if len(rows) < page_size:
                return
            after = (rows[-1]["ts_ms"], rows[-1]["machine_id"], rows[-1]["reading_id"])

    def reading(self, machine_id: str, reading_id: str) -> dict[str, Any] | None:
        p = predictions.c
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(predictions).where(p.machine_id == machine_id, p.reading_id == reading_id))
                .mappings()
                .first()
            )
        return None if row is None else prediction_view(row)

    def recent_values(
        self, machine_id: str | None, profile: str, fields: Sequence[str], limit: int
    ) -> dict[str, list[float]]:
        """The numbers of `fields` in the latest `limit` readings of `profile` (one machine or all)."""
        p = predictions.c
        query = sa.select(p.values_json).where(p.profile == profile).order_by(p.ts_ms.desc()).limit(limit)
        if machine_id is not None:
            query = query.where(p.machine_id == machine_id)
        with self.engine.connect() as conn:
            rows = [numeric_values(json.loads(text)) for text in conn.execute(query).scalars()]
        return {name: [row[name] for row in rows if name in row] for name in fields}

    def machine_profiles(self, machine_id: str | None = None) -> dict[str, str | None]:
        """Each machine's profile (one machine, or every one)."""
        m = machines.c
        query = sa.select(m.machine_id, m.profile).order_by(m.machine_id)
        if machine_id is not None:
            query = query.where(m.machine_id == machine_id)
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())

    def latest_values(self, profile: str) -> dict[str, Any]:
        """The values of the newest stored reading of `profile` (empty when there is none)."""
        p = predictions.c
        query = sa.select(p.values_json).where(p.profile == profile).order_by(p.ts_ms.desc()).limit(1)
        with self.engine.connect() as conn:
            text = conn.execute(query).scalar()
        return {} if text is None else dict(json.loads(text))

    def alerts(self, state: str, machine_id: str | None, limit: int) -> list[dict[str, Any]]:
        """Alerts, open first, newest first."""
        a = alerts.c
        query = sa.select(alerts)
        if state != "all":
            query = query.where(a.state == state)
        if machine_id is not None:
            query = query.where(a.machine_id == machine_id)
        open_first = sa.case((a.state == "open", 0), else_=1)
        query = query.order_by(open_first, a.opened_at_ms.desc(), a.alert_id).limit(limit)
        with self.engine.connect() as conn:
            return [alert_view(row) for row in conn.execute(query).mappings()]


def _machine_state(row: Any) -> MachineState:
    counts = Counter({name: int(row[name]) for name in ("readings", "predictive", "failure")})
    return MachineState(
        row["machine_id"],
        profile=row["profile"],
        reported=row["state"],
        reported_ts_ms=row["state_ts_ms"],
        counts=counts,
    )


def _log_select(filters: LogFilter, after: Cursor | None) -> sa.Select[Any]:
    p = predictions.c
    query = sa.select(predictions)
    if filters.status is not None:
        query = query.where(p.status == filters.status)
    if filters.machine_id is not None:
        query = query.where(p.machine_id == filters.machine_id)
    if filters.profile is not None:
        query = query.where(p.profile == filters.profile)
    if filters.since_ms is not None:
        query = query.where(p.ts_ms >= filters.since_ms)
    if filters.until_ms is not None:
        query = query.where(p.ts_ms <= filters.until_ms)
    if after is not None:
        query = query.where(sa.tuple_(p.ts_ms, p.machine_id, p.reading_id) < sa.tuple_(*after))
    return query.order_by(p.ts_ms.desc(), p.machine_id.desc(), p.reading_id.desc())
