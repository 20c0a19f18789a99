"""A machine's history, downsampled on the server, and the per-minute rollup it reads from.

A window holding at most `limit` readings is returned as is. A bigger one is cut into equal
time buckets, each point standing for its bucket: mean time and values, highest failure
probability, worst status. Buckets narrower than a minute are computed from the readings;
wider ones from `history_minutes` (whole minutes: the edge buckets may include readings of
the minute around `since`/`until`), so a day or a month costs about as much as an hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from api.db import history_minutes, predictions, upsert
from api.rows import STATUS_RANK, ms_to_ts

__all__ = ["MINUTE_MS", "History", "add_to_rollup", "load_history", "prune_rollup"]

MINUTE_MS = 60_000
VALUES = ("air_temp_k", "process_temp_k", "rotational_speed_rpm", "torque_nm", "tool_wear_min")
_RANK_STATUS = {rank: status for status, rank in STATUS_RANK.items()}


@dataclass(frozen=True)
class History:
    points: list[dict[str, Any]]
    downsampled: bool


def load_history(conn: sa.Connection, machine_id: str, since_ms: int, until_ms: int, limit: int) -> History:
    """Oldest-first points of one machine in [since, until], at most `limit` of them."""
    p = predictions.c
    window = sa.and_(p.machine_id == machine_id, p.ts_ms >= since_ms, p.ts_ms <= until_ms)
    # counting stops at limit + 1 rows: deciding costs O(limit), not O(window)
    capped = sa.select(sa.literal(1)).where(window).limit(limit + 1).subquery()
    if conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one() <= limit:
        columns = [p.ts_ms, *(p[name] for name in VALUES), p.failure_probability, p.status]
        rows = conn.execute(sa.select(*columns).where(window).order_by(p.ts_ms, p.reading_id)).all()
        return History([_point(row[0], row[1:6], row[6], row[7]) for row in rows], downsampled=False)
    # single min() and max() queries each take one index seek
    low = conn.execute(sa.select(sa.func.min(p.ts_ms)).where(window)).scalar_one()
    high = conn.execute(sa.select(sa.func.max(p.ts_ms)).where(window)).scalar_one()
    width = -(-(high - low + 1) // limit)  # ceiling: at most `limit` buckets
    if width < MINUTE_MS:
        rows = conn.execute(_from_readings(window, low, high, limit)).all()
        points = [_point(round(float(r[1])), r[2:7], r[7], _RANK_STATUS[int(r[8])]) for r in rows]
    else:
        whole_minutes = -(-width // MINUTE_MS) * MINUTE_MS
        rows = conn.execute(_from_rollup(machine_id, low, high, whole_minutes)).all()
        points = [_rollup_point(row) for row in rows]
    return History(points, downsampled=True)


def add_to_rollup(conn: sa.Connection, new_rows: Sequence[dict[str, Any]]) -> None:
    """Fold newly stored prediction rows into their machine's minutes."""
    if not new_rows:
        return
    minutes: dict[tuple[str, int], dict[str, Any]] = {}
    for row in new_rows:
        minute = row["ts_ms"] // MINUTE_MS * MINUTE_MS
        acc = minutes.get((row["machine_id"], minute))
        if acc is None:
            acc = minutes[(row["machine_id"], minute)] = _empty_minute(row["machine_id"], minute)
        acc["n"] += 1
        acc["sum_ts_offset"] += row["ts_ms"] - minute
        for name in VALUES:
            acc[f"sum_{name}"] += row[name]
        acc["max_probability"] = max(acc["max_probability"], row["failure_probability"])
        acc["max_rank"] = max(acc["max_rank"], STATUS_RANK[row["status"]])
    conn.execute(_merge_statement(conn), sorted(minutes.values(), key=lambda m: (m["machine_id"], m["minute_ms"])))


def prune_rollup(conn: sa.Connection, cutoff_ms: int) -> None:
    """Drop the minutes that lie wholly before `cutoff_ms`."""
    m = history_minutes.c
    conn.execute(sa.delete(history_minutes).where(m.minute_ms + MINUTE_MS <= cutoff_ms))


def _empty_minute(machine_id: str, minute: int) -> dict[str, Any]:
    sums = {f"sum_{name}": 0.0 for name in VALUES}
    return {"machine_id": machine_id, "minute_ms": minute, "n": 0, "sum_ts_offset": 0, **sums,
            "max_probability": 0.0, "max_rank": 0}  # fmt: skip


def _merge_statement(conn: sa.Connection) -> Any:
    insert = upsert(conn, history_minutes)
    new, old = insert.excluded, history_minutes.c
    added = {name: old[name] + new[name] for name in ("n", "sum_ts_offset", *(f"sum_{v}" for v in VALUES))}
    highest = {  # CASE, not max(a, b): PostgreSQL has no two-argument max
        name: sa.case((new[name] > old[name], new[name]), else_=old[name]) for name in ("max_probability", "max_rank")
    }
    return insert.on_conflict_do_update(index_elements=[old.machine_id, old.minute_ms], set_={**added, **highest})


def _from_readings(window: sa.ColumnElement[bool], low: int, high: int, limit: int) -> sa.Select[Any]:
    p = predictions.c
    bucket = ((p.ts_ms - low) * limit // (high - low + 1)).label("bucket")
    rank = sa.case(*((p.status == status, value) for status, value in STATUS_RANK.items()), else_=0)
    return (
        sa.select(
            bucket,
            sa.func.avg(p.ts_ms),
            *(sa.func.avg(p[name]) for name in VALUES),
            sa.func.max(p.failure_probability),
            sa.func.max(rank),
        )
        .where(window)
        .group_by(bucket)
        .order_by(bucket)
    )


def _from_rollup(machine_id: str, low: int, high: int, width: int) -> sa.Select[Any]:
    m = history_minutes.c
    base = low // MINUTE_MS * MINUTE_MS
    bucket = ((m.minute_ms - base) // width).label("bucket")
    return (
        sa.select(
            bucket,
            sa.func.sum(m.n),
            sa.func.sum(m.minute_ms * m.n),
            sa.func.sum(m.sum_ts_offset),
            *(sa.func.sum(m[f"sum_{name}"]) for name in VALUES),
            sa.func.max(m.max_probability),
            sa.func.max(m.max_rank),
        )
        .where(m.machine_id == machine_id, m.minute_ms >= base, m.minute_ms <= high)
        .group_by(bucket)
        .order_by(bucket)
    )


def _rollup_point(row: Any) -> dict[str, Any]:
    _bucket, count, minute_sum, offset_sum, *sums, probability, rank = row
    count = int(count)
    mean_ts = (int(minute_sum) + int(offset_sum)) // count
    return _point(mean_ts, [float(total) / count for total in sums], probability, _RANK_STATUS[int(rank)])


def _point(ts_ms: int, values: Any, probability: Any, status: str) -> dict[str, Any]:
    # written out: this runs for every point of every chart
    air, process, speed, torque, wear = values
    return {
        "ts": ms_to_ts(ts_ms),
        "air_temp_k": float(air),
        "process_temp_k": float(process),
        "rotational_speed_rpm": float(speed),
        "torque_nm": float(torque),
        "tool_wear_min": float(wear),
        "failure_probability": float(probability),
        "status": status,
    }
