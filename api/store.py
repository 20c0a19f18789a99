"""The write side of the history: batched idempotent inserts, acknowledgements, retention.

Every write goes through here. A batch is one transaction; a prediction already stored
(same machine_id, reading_id) is ignored (INSERT ... ON CONFLICT DO NOTHING) and reported as
not new, so a redelivered message changes nothing: no second row, no double count, no event.

A batch costs a handful of statements whatever the number of machines in it: a fleet at 1 Hz
sends every reading of a batch from another machine, so anything done per machine would be
done per reading. The new predictions (one multi-row insert), every machine's counts and
profile (one multi-row upsert, which also creates the machines not seen before), the
per-minute rollup (aggregated in memory, one multi-row upsert per table) and the statuses
(one multi-row upsert per round; a round holds at most one status per machine, so they apply
in arrival order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import sqlalchemy as sa

from api.db import (
    ROWS_PER_STATEMENT,
    alerts,
    api_state,
    insert_rows,
    machines,
    multirow_insert_sql,
    predictions,
    shadow_predictions,
    upsert,
)
from api.history import add_to_rollup, prune_rollup
from api.rows import MODEL_OUTPUT_FIELDS, alert_view

__all__ = ["BatchResult", "Store"]

T = TypeVar("T")

_PRUNE_CHUNK = 5_000
_PREDICTION_COLUMNS = tuple(column.name for column in predictions.columns)
_MACHINE_COLUMNS = ("machine_id", "profile", "readings", "predictive", "failure")
_COUNTED = ("readings", "predictive", "failure")
_NEW_ONLY = "ON CONFLICT DO NOTHING RETURNING machine_id, reading_id"
_MERGE_COUNTS = (
    "ON CONFLICT (machine_id) DO UPDATE SET "
    + "".join(f"{name} = {machines.name}.{name} + excluded.{name}, " for name in _COUNTED)
    + f"profile = COALESCE(excluded.profile, {machines.name}.profile)"
)
# an alert as api.decode.alert_row gives it: everything but the acknowledgement, which the API records
_ALERT_COLUMNS = tuple(column.name for column in alerts.columns if column.name not in ("acked_by", "acked_at_ms"))
# a clearing is final: a late "open" (or a redelivery) changes nothing and is not returned
_MERGE_ALERTS = (
    "ON CONFLICT (alert_id) DO UPDATE SET state = excluded.state, cleared_at_ms = excluded.cleared_at_ms "
    f"WHERE {alerts.name}.state = 'open' AND excluded.state = 'cleared' RETURNING alert_id"
)
# a classifier's row leaves what a RUL model or an anomaly detector adds to their defaults
_CLASSIFIER_COLUMNS = tuple(name for name in _PREDICTION_COLUMNS if name not in MODEL_OUTPUT_FIELDS)
_OTHER_KINDS_OUTPUTS = MODEL_OUTPUT_FIELDS[1:]  # all but model_kind


@dataclass
class BatchResult:
    """What a committed batch changed."""

    predictions: list[dict[str, Any]] = field(default_factory=list)  # rows newly stored
    statuses: list[tuple[str, str, int]] = field(default_factory=list)  # (machine, state, ts_ms)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # AlertView of changed alerts
    shadow: int = 0  # challengers' predictions stored (new or already known)


class Store:
    """Writes to the history database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        # machines whose row a committed batch created or found: machines are never deleted, so
        # a batch that only needs them to exist (an alert) writes nothing for them
        self._known_machines: set[str] = set()

    def write_batch(
        self,
        new_predictions: Sequence[dict[str, Any]] = (),
        alert_rows: Sequence[dict[str, Any]] = (),
        statuses: Sequence[tuple[str, str, int]] = (),
        shadow_rows: Sequence[dict[str, Any]] = (),
    ) -> BatchResult:
        """Store one batch in one transaction; statuses and alerts apply in the given order.

        `shadow_rows` (a challenger's predictions) are stored apart, once per model version,
        and change no count, rollup or event: they are for comparing models only.
        """
        # every statement writes (the first one too: no SQLite lock upgrade mid-transaction)
        result = BatchResult()
        with self.engine.begin() as conn:
            if shadow_rows:
                conn.execute(upsert(conn, shadow_predictions).on_conflict_do_nothing(), list(shadow_rows))
                result.shadow = len(shadow_rows)
            result.predictions = self._insert_predictions(conn, new_predictions)
            # the counts' upsert creates the machines of new predictions; a status creates its own
            # row; any other machine (an alert's, a redelivered prediction's) unless known
            unknown = {row["machine_id"] for row in (*new_predictions, *alert_rows)} - self._known_machines
            touched = self._add_counts(conn, result.predictions, unknown)
            add_to_rollup(conn, result.predictions)
            result.statuses = _in_rounds(statuses, lambda status: status[0], partial(self._upsert_statuses, conn))
            changed = _in_rounds(alert_rows, lambda row: row["alert_id"], partial(self._upsert_alerts, conn))
            result.alerts = self._alert_views(conn, list(dict.fromkeys(row["alert_id"] for row in changed)))
        self._known_machines.update(touched, (status[0] for status in statuses))  # committed: they exist
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
        """Delete predictions (champions' and challengers') older than `cutoff_ms` and alerts cleared before it.

        Deletes in chunks so the database is never locked for long; returns the removed
        prediction counts per machine so the in-memory counts can follow.
        """
        removed: dict[str, Counter[str]] = {}
        while True:
            with self.engine.begin() as conn:
                gone = self._delete_chunk(conn, cutoff_ms)
                counts = _counts(gone)
                self._subtract_counts(conn, counts)
            for machine_id, machine_counts in counts.items():
                removed.setdefault(machine_id, Counter()).update(machine_counts)
            if len(gone) < _PRUNE_CHUNK:
                break
        with self.engine.begin() as conn:
            prune_rollup(conn, cutoff_ms)
            conn.execute(sa.delete(shadow_predictions).where(shadow_predictions.c.ts_ms < cutoff_ms))
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

    def _insert_predictions(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert what is not stored yet; return the rows that were new, in arrival order.

        One multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per chunk, written as plain
        SQL: SQLAlchemy's per-row parameter processing cost more than the database itself here.
        The statement is standard on both SQLite (>= 3.35) and PostgreSQL.
        """
        unique = {(row["machine_id"], row["reading_id"]): row for row in reversed(rows)}  # first wins
        plain: list[dict[str, Any]] = []
        modelled: list[dict[str, Any]] = []
        for row in unique.values():
            (plain if _classifier_only(row) else modelled).append(row)
        new_keys: set[tuple[str, str]] = set()
        # a classifier's rows are written without the model columns: they cost what they did before them
        for columns, pending in ((_CLASSIFIER_COLUMNS, plain), (_PREDICTION_COLUMNS, modelled)):
            for start in range(0, len(pending), ROWS_PER_STATEMENT):
                part = pending[start : start + ROWS_PER_STATEMENT]
                sql = multirow_insert_sql(conn.dialect.paramstyle, predictions.name, columns, len(part), _NEW_ONLY)
                params = tuple(row[name] for row in part for name in columns)
                new_keys.update((machine, reading) for machine, reading in conn.exec_driver_sql(sql, params))
        return [row for key, row in reversed(unique.items()) if key in new_keys]

    def _add_counts(
        self, conn: sa.Connection, new_rows: Sequence[dict[str, Any]], also_create: Iterable[str] = ()
    ) -> set[str]:
        """Count the new rows per machine and record each machine's profile (its latest row's).

        One multi-row upsert for the whole batch: it adds the counts to the machines known to
        the database and creates the others (with `also_create`, machines that only need a
        row). Returns the machines written.
        """
        tally: dict[str, list[Any]] = {}  # machine -> [machine, profile, readings, predictive, failure]
        for row in new_rows:
            machine_id = row["machine_id"]
            counted = tally.get(machine_id)
            if counted is None:
                counted = tally[machine_id] = [machine_id, None, 0, 0, 0]
            counted[1] = row["profile"]  # the latest row's
            counted[2] += 1
            status = row["status"]
            if status == "predictive":
                counted[3] += 1
            elif status == "failure":
                counted[4] += 1
        for machine_id in also_create:
            tally.setdefault(machine_id, [machine_id, None, 0, 0, 0])
        rows = [tally[machine_id] for machine_id in sorted(tally)]  # one lock order for every writer
        insert_rows(conn, machines.name, _MACHINE_COLUMNS, rows, _MERGE_COUNTS)
        return set(tally)

    def _subtract_counts(self, conn: sa.Connection, counts: dict[str, Counter[str]]) -> None:
        """Take pruned predictions off their machines' counts (pruning is rare: one UPDATE per machine)."""
        if not counts:
            return
        c = machines.c
        statement = (
            sa.update(machines)
            .where(c.machine_id == sa.bindparam("m"))
            .values(**{name: getattr(c, name) - sa.bindparam(f"n_{name}") for name in _COUNTED})
        )
        params = [
            {"m": machine_id, **{f"n_{name}": counted[name] for name in _COUNTED}}
            for machine_id, counted in sorted(counts.items())
        ]
        conn.execute(statement, params)

    def _upsert_statuses(self, conn: sa.Connection, statuses: list[tuple[str, str, int]]) -> set[str]:
        """Set each machine's reported state (one status per machine); returns the machines changed."""
        insert = upsert(conn, machines).values(
            [{"machine_id": machine_id, "state": state, "state_ts_ms": ts_ms} for machine_id, state, ts_ms in statuses]
        )
        statement = insert.on_conflict_do_update(
            index_elements=[machines.c.machine_id],
            set_={"state": insert.excluded.state, "state_ts_ms": insert.excluded.state_ts_ms},
            where=sa.or_(
                machines.c.state.is_distinct_from(insert.excluded.state),
                machines.c.state_ts_ms.is_distinct_from(insert.excluded.state_ts_ms),
            ),
        ).returning(machines.c.machine_id)
        return set(conn.execute(statement).scalars())

    def _upsert_alerts(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> set[str]:
        """Insert new alerts, clear open ones (one row per alert id); returns the ids changed.

        A clearing is final: a late "open" is ignored.
        """
        values = [[row[name] for name in _ALERT_COLUMNS] for row in rows]
        return {alert_id for (alert_id,) in insert_rows(conn, alerts.name, _ALERT_COLUMNS, values, _MERGE_ALERTS)}

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
    return row["model_kind"] == "classifier" and all(row[name] is None for name in _OTHER_KINDS_OUTPUTS)


def _in_rounds(items: Sequence[T], key: Callable[[T], str], apply: Callable[[list[T]], set[str]]) -> list[T]:
    """Apply `items` in arrival order as multi-row upserts; return those that changed their row.

    A key's n-th item goes in round n, so one upsert per round never touches a row twice
    (PostgreSQL refuses that) and the items of one key apply in order. `apply` upserts a round
    and returns the keys it changed.
    """
    seen: Counter[str] = Counter()  # items of each key so far
    rounds: list[dict[str, T]] = []
    round_of: list[int] = []
    for item in items:
        name = key(item)
        number = seen[name]
        seen[name] += 1
        if number == len(rounds):
            rounds.append({})
        rounds[number][name] = item
        round_of.append(number)
    changed = [apply(list(batch.values())) for batch in rounds]
    return [item for item, number in zip(items, round_of, strict=True) if key(item) in changed[number]]


def _counts(pairs: Iterable[tuple[str, str]]) -> dict[str, Counter[str]]:
    """(machine_id, status) pairs as per-machine counts of readings, predictive and failure."""
    counts: dict[str, Counter[str]] = {}
    for machine_id, status in pairs:
        counted = counts.setdefault(machine_id, Counter())
        counted["readings"] += 1
        counted[status] += 1
    return counts
