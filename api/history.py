"""A machine's history, downsampled on the server, and the per-minute rollup it reads from.

A window holding at most `limit` readings is returned as is. A bigger one is cut into equal
time buckets, each point standing for its bucket: mean time and mean of each numeric field,
highest failure probability, worst status. Buckets narrower than a minute are computed from
the readings; wider ones from the rollup tables (whole minutes: the edge buckets may include
readings of the minute around `since`/`until`), so a day or a month costs about as much as an
hour. Which fields a point carries is whatever the machine's readings carried (its profile's
numbers): nothing here knows a field by name. A point also carries the model's remaining
useful life with its interval (bucket means) and anomaly score (bucket maximum), null where
the machine's model gives none.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from api.db import history_minute_values, history_minutes, insert_rows, predictions
from api.rows import STATUS_RANK, ms_to_ts

__all__ = ["MINUTE_MS", "History", "add_to_rollup", "load_history", "numeric_values", "prune_rollup"]

MINUTE_MS = 60_000
_RANK_STATUS = {rank: status for status, rank in STATUS_RANK.items()}
_LEAST_RANK = min(STATUS_RANK.values())


@dataclass(frozen=True)
class History:
    points: list[dict[str, Any]]
    downsampled: bool


def numeric_values(values: dict[str, Any]) -> dict[str, float]:
    """The numbers among a reading's values (categories and texts are not charted)."""
    return {
        name: float(value)
        for name, value in values.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }


def load_history(conn: sa.Connection, machine_id: str, since_ms: int, until_ms: int, limit: int) -> History:
    """Oldest-first points of one machine in [since, until], at most `limit` of them."""
    p = predictions.c
    window = sa.and_(p.machine_id == machine_id, p.ts_ms >= since_ms, p.ts_ms <= until_ms)
    # counting stops at limit + 1 rows: deciding costs O(limit), not O(window)
    capped = sa.select(sa.literal(1)).where(window).limit(limit + 1).subquery()
    if conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one() <= limit:
        columns = [p.ts_ms, p.values_json, p.failure_probability, p.status, *_model_columns()]
        rows = conn.execute(sa.select(*columns).where(window).order_by(p.ts_ms, p.reading_id)).all()
        return History(
            [_point(ts, numeric_values(json.loads(values)), prob, st, model) for ts, values, prob, st, *model in rows],
            False,
        )
    # single min() and max() queries each take one index seek
    low = conn.execute(sa.select(sa.func.min(p.ts_ms)).where(window)).scalar_one()
    high = conn.execute(sa.select(sa.func.max(p.ts_ms)).where(window)).scalar_one()
    width = -(-(high - low + 1) // limit)  # ceiling: at most `limit` buckets
    if width < MINUTE_MS:
        fields = _fields(conn, machine_id, low, high)  # the rollup path finds them with their means
        return History(_from_readings(conn, window, fields, (low, high), limit), downsampled=True)
    whole_minutes = -(-width // MINUTE_MS) * MINUTE_MS
    return History(_from_rollup(conn, machine_id, low, high, whole_minutes), downsampled=True)


def add_to_rollup(conn: sa.Connection, new_rows: Sequence[dict[str, Any]]) -> None:
    """Fold newly stored prediction rows (with their parsed ``values``) into their machine's minutes.

    Aggregated in memory first: one row per machine and minute, one per machine, minute and
    field, whatever the number of readings in the batch (lists, not dicts: this runs per reading).
    """
    if not new_rows:
        return
    minutes: dict[tuple[str, int], list[Any]] = {}  # [machine, minute, n, sum_ts_offset, max_probability, max_rank]
    sums: dict[tuple[str, int, str], list[Any]] = {}  # [machine, minute, field, n, total]
    models: dict[tuple[str, int], list[Any]] = {}  # minutes with RUL / anomaly outputs: _MODEL_COLUMNS
    for row in new_rows:
        machine, ts_ms = row["machine_id"], row["ts_ms"]
        minute = ts_ms - ts_ms % MINUTE_MS
        key = (machine, minute)
        acc = minutes.get(key)
        if acc is None:
            acc = minutes[key] = [machine, minute, 0, 0, None, 0]
        acc[2] += 1
        acc[3] += ts_ms - minute
        probability = row["failure_probability"]
        if probability is not None and (acc[4] is None or probability > acc[4]):
            acc[4] = probability
        rank = STATUS_RANK[row["status"]]
        acc[5] = max(acc[5], rank)
        if row["rul"] is not None or row["anomaly_score"] is not None:
            _add_model_outputs(models, key, row)
        for name, value in row["values"].items():
            if type(value) is float or type(value) is int:  # validated finite by the contract; bool is not int here
                total = sums.get((machine, minute, name))
                if total is None:
                    sums[(machine, minute, name)] = [machine, minute, name, 1, float(value)]
                else:
                    total[3] += 1
                    total[4] += value
    # a classifier's minutes leave the model columns alone: its ingest costs what it did before them
    ordered = sorted(minutes)
    plain = [minutes[key] for key in ordered if key not in models]
    insert_rows(conn, history_minutes.name, _MINUTE_COLUMNS, plain, _MERGE_MINUTES)
    modelled = [[*minutes[key], *models[key]] for key in ordered if key in models]
    insert_rows(conn, history_minutes.name, _MODEL_MINUTE_COLUMNS, modelled, _MERGE_MODEL_MINUTES)
    insert_rows(conn, history_minute_values.name, _VALUE_COLUMNS, list(sums.values()), _MERGE_VALUES)


# Plain-SQL multi-row upserts (api.db.insert_rows): SQLAlchemy's per-row parameter processing cost
# three times what SQLite itself spends on them. The statements are standard on SQLite and PostgreSQL.
_MINUTE_COLUMNS = ("machine_id", "minute_ms", "n", "sum_ts_offset", "max_probability", "max_rank")
_MODEL_COLUMNS = ("rul_n", "rul_sum", "rul_low_sum", "rul_high_sum", "max_anomaly_score")
_MODEL_MINUTE_COLUMNS = (*_MINUTE_COLUMNS, *_MODEL_COLUMNS)
_VALUE_COLUMNS = ("machine_id", "minute_ms", "field", "n", "total")
_MERGE_MINUTES = (
    "ON CONFLICT (machine_id, minute_ms) DO UPDATE SET "
    "n = history_minutes.n + excluded.n, "
    "sum_ts_offset = history_minutes.sum_ts_offset + excluded.sum_ts_offset, "
    # CASE, not max(a, b): PostgreSQL has no two-argument max; null: nothing scored yet
    "max_probability = CASE WHEN history_minutes.max_probability IS NULL "
    "OR excluded.max_probability > history_minutes.max_probability "
    "THEN excluded.max_probability ELSE history_minutes.max_probability END, "
    "max_rank = CASE WHEN excluded.max_rank > history_minutes.max_rank "
    "THEN excluded.max_rank ELSE history_minutes.max_rank END"
)
_MERGE_MODEL_MINUTES = (
    f"{_MERGE_MINUTES}, "
    "rul_n = history_minutes.rul_n + excluded.rul_n, "
    "rul_sum = history_minutes.rul_sum + excluded.rul_sum, "
    "rul_low_sum = history_minutes.rul_low_sum + excluded.rul_low_sum, "
    "rul_high_sum = history_minutes.rul_high_sum + excluded.rul_high_sum, "
    "max_anomaly_score = CASE WHEN history_minutes.max_anomaly_score IS NULL "
    "OR excluded.max_anomaly_score > history_minutes.max_anomaly_score "
    "THEN excluded.max_anomaly_score ELSE history_minutes.max_anomaly_score END"
)
_MERGE_VALUES = (
    "ON CONFLICT (machine_id, minute_ms, field) DO UPDATE SET "
    "n = history_minute_values.n + excluded.n, total = history_minute_values.total + excluded.total"
)


def _add_model_outputs(models: dict[tuple[str, int], list[Any]], key: tuple[str, int], row: dict[str, Any]) -> None:
    """Fold a RUL model's or an anomaly detector's outputs into a minute (the model columns)."""
    acc = models.get(key)
    if acc is None:
        acc = models[key] = [0, 0.0, 0.0, 0.0, None]  # _MODEL_COLUMNS
    rul = row["rul"]
    if rul is not None:
        acc[0] += 1
        acc[1] += rul
        acc[2] += rul if row["rul_low"] is None else row["rul_low"]
        acc[3] += rul if row["rul_high"] is None else row["rul_high"]
    score = row["anomaly_score"]
    if score is not None and (acc[4] is None or score > acc[4]):
        acc[4] = score


def prune_rollup(conn: sa.Connection, cutoff_ms: int) -> None:
    """Drop the minutes that lie wholly before `cutoff_ms`."""
    for table in (history_minutes, history_minute_values):
        conn.execute(sa.delete(table).where(table.c.minute_ms + MINUTE_MS <= cutoff_ms))


def _fields(conn: sa.Connection, machine_id: str, low: int, high: int) -> list[str]:
    """The numeric fields the machine's readings carried in the window (from the rollup)."""
    v = history_minute_values.c
    base = low // MINUTE_MS * MINUTE_MS
    query = (
        sa.select(v.field)
        .where(v.machine_id == machine_id, v.minute_ms >= base, v.minute_ms <= high)
        .group_by(v.field)
        .order_by(sa.func.min(v.minute_ms), v.field)
    )
    return list(conn.execute(query).scalars())


def _json_number(conn: sa.Connection, name: str) -> sa.ColumnElement[Any]:
    """The number `name` of a row's values_json, in SQL (null where it is absent)."""
    column = predictions.c.values_json
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.cast(column, postgresql.JSONB)[name].astext, sa.Float)
    return sa.func.json_extract(column, sa.literal(f'$."{name}"'))


def _from_readings(
    conn: sa.Connection, window: sa.ColumnElement[bool], fields: list[str], span: tuple[int, int], limit: int
) -> list[dict[str, Any]]:
    low, high = span
    p = predictions.c
    bucket = ((p.ts_ms - low) * limit // (high - low + 1)).label("bucket")
    rank = sa.case(*((p.status == status, value) for status, value in STATUS_RANK.items()), else_=_LEAST_RANK)
    query = (
        sa.select(
            bucket,
            sa.func.avg(p.ts_ms),
            sa.func.max(p.failure_probability),
            sa.func.max(rank),
            sa.func.avg(p.rul),
            sa.func.avg(sa.func.coalesce(p.rul_low, p.rul)),
            sa.func.avg(sa.func.coalesce(p.rul_high, p.rul)),
            sa.func.max(p.anomaly_score),
            *(sa.func.avg(_json_number(conn, name)) for name in fields),
        )
        .where(window)
        .group_by(bucket)
        .order_by(bucket)
    )
    points = []
    for _bucket, mean_ts, probability, worst, rul, low, high, score, *means in conn.execute(query):
        values = {name: float(mean) for name, mean in zip(fields, means, strict=True) if mean is not None}
        points.append(
            _point(round(float(mean_ts)), values, probability, _RANK_STATUS[int(worst)], (rul, low, high, score))
        )
    return points


def _from_rollup(conn: sa.Connection, machine_id: str, low: int, high: int, width: int) -> list[dict[str, Any]]:
    m, v = history_minutes.c, history_minute_values.c
    base = low // MINUTE_MS * MINUTE_MS
    bucket = ((m.minute_ms - base) // width).label("bucket")
    minutes = (
        sa.select(
            bucket,
            sa.func.sum(m.n),
            sa.func.sum(m.minute_ms * m.n),
            sa.func.sum(m.sum_ts_offset),
            sa.func.max(m.max_probability),
            sa.func.max(m.max_rank),
            sa.func.sum(m.rul_n),
            sa.func.sum(m.rul_sum),
            sa.func.sum(m.rul_low_sum),
            sa.func.sum(m.rul_high_sum),
            sa.func.max(m.max_anomaly_score),
        )
        .where(m.machine_id == machine_id, m.minute_ms >= base, m.minute_ms <= high)
        .group_by(bucket)
        .order_by(bucket)
    )
    value_bucket = ((v.minute_ms - base) // width).label("bucket")
    values = (
        sa.select(value_bucket, v.field, sa.func.sum(v.n), sa.func.sum(v.total))
        .where(v.machine_id == machine_id, v.minute_ms >= base, v.minute_ms <= high)
        .group_by(value_bucket, v.field)
    )
    means: dict[int, dict[str, float]] = {}
    for key, name, count, total in conn.execute(values):
        means.setdefault(int(key), {})[name] = float(total) / int(count)
    return [_rollup_point(row, means.get(int(row[0]), {})) for row in conn.execute(minutes)]


def _rollup_point(row: Any, values: dict[str, float]) -> dict[str, Any]:
    _bucket, count, minute_sum, offset_sum, probability, rank, rul_n, rul, low, high, score = row
    mean_ts = (int(minute_sum) + int(offset_sum)) // int(count)
    ruls = (None, None, None) if not rul_n else (float(s) / int(rul_n) for s in (rul, low, high))
    return _point(mean_ts, values, probability, _RANK_STATUS[int(rank)], (*ruls, score))


def _model_columns() -> tuple[sa.ColumnElement[Any], ...]:
    """A row's model outputs a point carries, in _point's order."""
    p = predictions.c
    return p.rul, p.rul_low, p.rul_high, p.anomaly_score


def _point(ts_ms: int, values: dict[str, float], probability: Any, status: str, model: Sequence[Any]) -> dict[str, Any]:
    rul, low, high, score = model
    return {
        "ts": ms_to_ts(ts_ms),
        "values": values,
        "failure_probability": _float(probability),
        "status": status,
        "rul": _float(rul),
        "rul_low": _float(low),
        "rul_high": _float(high),
        "anomaly_score": _float(score),
    }


def _float(number: Any) -> float | None:
    return None if number is None else float(number)
