"""The write side of the history: batched idempotent inserts, acknowledgements, retention.

Every write goes through here. A batch is one transaction; a prediction already stored
(same machine_id, reading_id) is ignored (INSERT ... ON CONFLICT DO NOTHING) and reported as
not new, so a redelivered message changes nothing: no second row, no double count, no event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from api.db import alerts, api_state, machines, predictions, upsert
from api.history import add_to_rollup, prune_rollup
from api.rows import alert_view

__all__ = ["BatchResult", "Store"]

_PRUNE_CHUNK = 5_000
_INSERT_CHUNK = 1_000  # rows per INSERT: 23 columns stay far below SQLite's 32,766 variables
_PREDICTION_COLUMNS = tuple(column.name for column in predictions.columns)
# What a RUL model or an anomaly detector adds; a classifier's row leaves these to their defaults.
_MODEL_OUTPUTS = ("model_kind", "rul", "rul_low", "rul_high", "rul_unit", "rul_horizon", "anomaly_score",
                  "anomaly_threshold")  # fmt: skip
_CLASSIFIER_COLUMNS = tuple(name for name in _PREDICTION_COLUMNS if name not in _MODEL_OUTPUTS)


@dataclass
class BatchResult:
    """What a committed batch changed."""

    predictions: list[dict[str, Any]] = field(default_factory=list)  # rows newly stored
    statuses: list[tuple[str, str, int]] = field(default_factory=list)  # (machine, state, ts_ms)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # AlertView of changed alerts


class Store:
    """Writes to the history database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def write_batch(
        self,
        new_predictions: Sequence[dict[str, Any]] = (),
        alert_rows: Sequence[dict[str, Any]] = (),
        statuses: Sequence[tuple[str, str, int]] = (),
    ) -> BatchResult:
        """Store one batch in one transaction; statuses and alerts apply in the given order."""
        machine_ids = {row["machine_id"] for row in (*new_predictions, *alert_rows)} | {s[0] for s in statuses}
        result = BatchResult()
        with self.engine.begin() as conn:
            self._ensure_machines(conn, machine_ids)  # first statement writes: no SQLite lock upgrade
            result.predictions = self._insert_predictions(conn, new_predictions)
            self._add_counts(conn, result.predictions)
            add_to_rollup(conn, result.predictions)
            result.statuses = [status for status in statuses if self._set_status(conn, *status)]
            changed = [row["alert_id"] for row in alert_rows if self._put_alert(conn, row)]
            result.alerts = self._alert_views(conn, list(dict.fromkeys(changed)))
        return result

    def acknowledge(self, alert_id: str, by: str, now_ms: int) -> tuple[dict[str, Any] | None, bool]:
        """Record who acknowledged an alert (the first acknowledgement stands).

        Returns the AlertView (None when unknown) and whether this call changed it.
        """
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.update(alerts)
                .where(alerts.c.alert_id == alert_id, alerts.c.acked_by.is_(None))
                .values(acked_by=by, acked_at_ms=now_ms)
            ).rowcount
            views = self._alert_views(conn, [alert_id])
        return (views[0] if views else None), bool(changed)

    def prune(self, cutoff_ms: int) -> dict[str, Counter[str]]:
        """Delete predictions older than `cutoff_ms` and alerts cleared before it.

        Deletes in chunks so the database is never locked for long; returns the removed
        prediction counts per machine so the in-memory counts can follow.
        """
        removed: dict[str, Counter[str]] = {}
        while True:
            with self.engine.begin() as conn:
                gone = self._delete_chunk(conn, cutoff_ms)
                counts = _counts(gone)
                self._add_counts_by_machine(conn, counts, sign=-1)
            for machine_id, machine_counts in counts.items():
                removed.setdefault(machine_id, Counter()).update(machine_counts)
            if len(gone) < _PRUNE_CHUNK:
                break
        with self.engine.begin() as conn:
            prune_rollup(conn, cutoff_ms)
            conn.execute(
                sa.delete(alerts).where(
                    alerts.c.state == "cleared",
                    sa.func.coalesce(alerts.c.cleared_at_ms, alerts.c.opened_at_ms) < cutoff_ms,
                )
            )
        return removed

    def take_state(self, key: str) -> int | None:
        """Read and forget a saved value: a process that crashes later must not find it again."""
        with self.engine.begin() as conn:
            value = conn.execute(sa.select(api_state.c.value).where(api_state.c.key == key)).scalar()
            conn.execute(sa.delete(api_state).where(api_state.c.key == key))
        return None if value is None else int(value)

    def save_state(self, key: str, value: int) -> None:
        with self.engine.begin() as conn:
            insert = upsert(conn, api_state).values(key=key, value=value)
            conn.execute(insert.on_conflict_do_update(index_elements=[api_state.c.key], set_={"value": value}))

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.select(1))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    # ------------------------------------------------------------------ helpers

    def _ensure_machines(self, conn: sa.Connection, machine_ids: Iterable[str]) -> None:
        rows = [{"machine_id": machine_id} for machine_id in sorted(machine_ids)]
        if rows:
            conn.execute(upsert(conn, machines).on_conflict_do_nothing(), rows)

    def _insert_predictions(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert what is not stored yet; return the rows that were new, in arrival order.

        One multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per chunk, written as plain
        SQL: SQLAlchemy's per-row parameter processing cost more than the database itself here.
        The statement is standard on both SQLite (>= 3.35) and PostgreSQL.
        """
        unique = {(row["machine_id"], row["reading_id"]): row for row in reversed(rows)}  # first wins
        plain = [row for row in unique.values() if _classifier_only(row)]
        modelled = [row for row in unique.values() if not _classifier_only(row)]
        new_keys: set[tuple[str, str]] = set()
        # a classifier's rows are written without the model columns: they cost what they did before them
        for columns, pending in ((_CLASSIFIER_COLUMNS, plain), (_PREDICTION_COLUMNS, modelled)):
            for start in range(0, len(pending), _INSERT_CHUNK):
                part = pending[start : start + _INSERT_CHUNK]
                sql = _insert_sql(conn.dialect.paramstyle, columns, len(part))
                params = tuple(row[name] for row in part for name in columns)
                new_keys.update((machine, reading) for machine, reading in conn.exec_driver_sql(sql, params))
        return [row for key, row in reversed(unique.items()) if key in new_keys]

    def _add_counts(self, conn: sa.Connection, new_rows: Sequence[dict[str, Any]]) -> None:
        """Count the new rows per machine, and record each machine's profile (its latest row's)."""
        profiles = {row["machine_id"]: row["profile"] for row in new_rows}
        counts = _counts((row["machine_id"], row["status"]) for row in new_rows)
        self._add_counts_by_machine(conn, counts, profiles=profiles)

    def _add_counts_by_machine(
        self,
        conn: sa.Connection,
        counts: dict[str, Counter[str]],
        sign: int = 1,
        profiles: dict[str, str] | None = None,
    ) -> None:
        if not counts:
            return
        c = machines.c
        statement = (
            sa.update(machines)
            .where(c.machine_id == sa.bindparam("m"))
            .values(
                readings=c.readings + sa.bindparam("n_readings"),
                predictive=c.predictive + sa.bindparam("n_predictive"),
                failure=c.failure + sa.bindparam("n_failure"),
                profile=sa.func.coalesce(sa.bindparam("p", type_=sa.String), c.profile),
            )
        )
        params = [
            {
                "m": machine_id,
                "p": (profiles or {}).get(machine_id),
                **{f"n_{name}": sign * counted[name] for name in ("readings", "predictive", "failure")},
            }
            for machine_id, counted in sorted(counts.items())
        ]
        conn.execute(statement, params)

    def _set_status(self, conn: sa.Connection, machine_id: str, state: str, ts_ms: int) -> bool:
        insert = upsert(conn, machines).values(machine_id=machine_id, state=state, state_ts_ms=ts_ms)
        statement = insert.on_conflict_do_update(
            index_elements=[machines.c.machine_id],
            set_={"state": insert.excluded.state, "state_ts_ms": insert.excluded.state_ts_ms},
            where=sa.or_(
                machines.c.state.is_distinct_from(insert.excluded.state),
                machines.c.state_ts_ms.is_distinct_from(insert.excluded.state_ts_ms),
            ),
        )
        return bool(conn.execute(statement).rowcount)

    def _put_alert(self, conn: sa.Connection, row: dict[str, Any]) -> bool:
        """Insert a new alert or clear an open one; a clearing is final (a late "open" is ignored)."""
        insert = upsert(conn, alerts).values(**row)
        statement = insert.on_conflict_do_update(
            index_elements=[alerts.c.alert_id],
            set_={"state": insert.excluded.state, "cleared_at_ms": insert.excluded.cleared_at_ms},
            where=sa.and_(alerts.c.state == "open", insert.excluded.state == "cleared"),
        )
        return bool(conn.execute(statement).rowcount)

    def _alert_views(self, conn: sa.Connection, alert_ids: list[str]) -> list[dict[str, Any]]:
        if not alert_ids:
            return []
        rows = conn.execute(sa.select(alerts).where(alerts.c.alert_id.in_(alert_ids))).mappings().all()
        by_id = {row["alert_id"]: alert_view(row) for row in rows}
        return [by_id[alert_id] for alert_id in alert_ids if alert_id in by_id]

    def _delete_chunk(self, conn: sa.Connection, cutoff_ms: int) -> list[tuple[str, str]]:
        p = predictions.c
        oldest = sa.select(p.machine_id, p.reading_id).where(p.ts_ms < cutoff_ms).limit(_PRUNE_CHUNK)
        statement = (
            sa.delete(predictions)
            .where(sa.tuple_(p.machine_id, p.reading_id).in_(oldest))
            .returning(p.machine_id, p.status)
        )
        return [(machine_id, status) for machine_id, status in conn.execute(statement)]


def _classifier_only(row: dict[str, Any]) -> bool:
    """A classifier's prediction, with none of the other kinds' outputs."""
    return row["model_kind"] == "classifier" and all(row[name] is None for name in _MODEL_OUTPUTS[1:])


@lru_cache(maxsize=64)
def _insert_sql(paramstyle: str, columns: tuple[str, ...], rows: int) -> str:
    marker = "?" if paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([marker] * len(columns)) + ")"
    return (
        # only our own table, column names and placeholders: the values travel as parameters
        f"INSERT INTO {predictions.name} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES {', '.join([one] * rows)} "
        "ON CONFLICT DO NOTHING RETURNING machine_id, reading_id"
    )


def _counts(pairs: Iterable[tuple[str, str]]) -> dict[str, Counter[str]]:
    """(machine_id, status) pairs as per-machine counts of readings, predictive and failure."""
    counts: dict[str, Counter[str]] = {}
    for machine_id, status in pairs:
        counted = counts.setdefault(machine_id, Counter())
        counted["readings"] += 1
        counted[status] += 1
    return counts
