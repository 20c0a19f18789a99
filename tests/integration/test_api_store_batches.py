"""The store's batched write path gives the history one message at a time gives, on each database.

The writer stores whatever is waiting in one transaction: under a fleet's load a batch holds
hundreds of machines, several readings of one machine, late readings (an outbox after an
outage), redeliveries and statuses. Whatever the batching, the counts, the machines' profiles
and statuses, the per-minute rollup and the history must be those of storing each message on
its own (the writer's batch of one), and those the stored rows themselves give.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from api import runtime_of
from api.db import history_minute_values, history_minutes, machines, predictions
from api.decode import alert_row
from api.history import MINUTE_MS, load_history
from api.rows import STATUS_RANK
from api.store import Store
from tests.support.api import (  # noqa: F401  (fixtures)
    alert,
    api_app_fixture,
    at,
    database_url_fixture,
    feed,
    fresh_now_fixture,
    iso,
    prediction,
    test_now,
)

Message = tuple[str, Any]  # ("prediction", payload) | ("alert", payload) | ("status", (machine, state, ts))


def _stream(prefix: str) -> list[Message]:
    """A mixed stream: 30 machines, late and duplicate readings, statuses, alerts, unscored rows."""
    out: list[Message] = []
    out += [("status", (f"{prefix}-{n:02d}", "online", at(600))) for n in range(30)]
    for second in range(4):
        for n in range(30):
            machine = f"{prefix}-{n:02d}"
            status = "predictive" if (n + second) % 7 == 0 else "failure" if (n + second) % 11 == 0 else "normal"
            values = {"torque_nm": 40.0 + n + second / 4, "tool_wear_min": float(second * 60 + n)}
            out.append(("prediction", _prediction(machine, f"r{second}", at(300 - 61 * second), status, values)))
    # late readings from the outbox of machine 03, two minutes older than anything else
    out += [("prediction", _prediction(f"{prefix}-03", f"late{k}", at(600 + k), "normal", {})) for k in range(3)]
    # a profile without a model: stored unscored, and the machine's profile moves to it
    unscored = _prediction(f"{prefix}-05", "u1", at(1), "unscored", {"torque_nm": 12.5})
    out.append(("prediction", {**unscored, "profile": "fan-generic", "values": {"vibration_mm_s": 2.5}}))
    out.append(("prediction", _prediction(f"{prefix}-07", "r2", at(1), "failure", {})))  # a duplicate: ignored
    out += [("prediction", _prediction(f"{prefix}-08", "again", at(5), "normal", {}))] * 2  # redelivered at once
    out.append(("alert", alert(f"{prefix}-40", f"{prefix}-40-detected-r1")))  # a machine heard of by its alert only
    out.append(("alert", alert(f"{prefix}-01", f"{prefix}-01-predicted-r1")))
    out.append(("alert", alert(f"{prefix}-01", f"{prefix}-01-predicted-r1", state="cleared")))
    out.append(("alert", alert(f"{prefix}-01", f"{prefix}-01-predicted-r1")))  # a late "open": the clearing stands
    out += [
        ("status", (f"{prefix}-09", "offline", at(30))),
        ("status", (f"{prefix}-09", "online", at(20))),
        ("status", (f"{prefix}-09", "online", at(20))),  # the same again: not a change
        ("status", (f"{prefix}-41", "offline", at(10))),  # a machine heard of by its status only
    ]
    return out


def _prediction(machine: str, reading: str, ts: str, status: str, values: dict[str, float]) -> dict[str, Any]:
    probability = None if status == "unscored" else {"normal": 0.1, "predictive": 0.6, "failure": 0.9}[status]
    return prediction(machine, reading, ts, values=values, status=status, failure_probability=probability)


def _feed(app: Flask, messages: Sequence[Message]) -> list[Any]:
    """Store `messages` as one batch; returns what it changed: new readings, statuses, alerts."""
    result = feed(
        app,
        predictions=[body for kind, body in messages if kind == "prediction"],
        alerts=[body for kind, body in messages if kind == "alert"],
        statuses=[body for kind, body in messages if kind == "status"],
    )
    # an alert opened and cleared within one batch is reported once, cleared: compare alerts' ids
    return [
        *((row["machine_id"], row["reading_id"]) for row in result.predictions),
        *result.statuses,
        *(("alert", view["alert_id"]) for view in result.alerts),
    ]


def _without_prefix(value: Any, prefix: str) -> Any:
    """`value` with the machine ids' prefix taken off, to compare two fleets' tables."""
    if isinstance(value, str):
        return value.replace(f"{prefix}-", "")
    if isinstance(value, tuple | list):
        return type(value)(_without_prefix(item, prefix) for item in value)
    return value


def _tables(engine: sa.Engine, prefix: str) -> dict[str, list[Any]]:
    """Everything the writer keeps for the machines named `prefix-*`, prefix taken off, sorted."""
    out = {}
    with engine.connect() as conn:
        for table in (machines, history_minutes, history_minute_values, predictions):
            rows = conn.execute(sa.select(table).where(table.c.machine_id.like(f"{prefix}-%"))).all()
            out[table.name] = sorted((_without_prefix(tuple(row), prefix) for row in rows), key=repr)
    return out


def _chunks(messages: list[Message], size: int) -> Iterator[list[Message]]:
    for start in range(0, len(messages), size):
        yield messages[start : start + size]


def test_a_batch_stores_what_the_messages_one_by_one_store(api_app: Flask) -> None:
    changes_singly = [change for message in _stream("one") for change in _feed(api_app, [message])]
    changes_batched = []
    for part in _chunks(_stream("many"), 97):  # batches cut across a machine's statuses and alerts
        changes_batched += _feed(api_app, part)

    engine = runtime_of(api_app).store.engine
    assert _tables(engine, "many") == _tables(engine, "one")
    # a batch reports its new readings first, then statuses and alerts: compare as multisets
    batched, singly = _without_prefix(changes_batched, "many"), _without_prefix(changes_singly, "one")
    assert Counter(c for c in batched if c[0] != "alert") == Counter(c for c in singly if c[0] != "alert")
    assert {c for c in batched if c[0] == "alert"} == {c for c in singly if c[0] == "alert"}
    one_state = api_app.test_client().get("/api/machines").json
    assert one_state is not None
    views = {m["machine_id"]: m for m in one_state["machines"]}
    for n in (*range(30), 40, 41):
        single, batched = views[f"one-{n:02d}"], views[f"many-{n:02d}"]
        for name in ("profile", "counts", "status", "online"):
            assert single[name] == batched[name], (n, name)
        alerts_of = [[(a["alert_id"], a["state"]) for a in view["open_alerts"]] for view in (single, batched)]
        assert _without_prefix(alerts_of[0], "one") == _without_prefix(alerts_of[1], "many")


def test_the_counts_and_rollup_are_those_of_the_stored_rows(api_app: Flask) -> None:
    stream = _stream("rows")
    _feed(api_app, stream[:150])
    _feed(api_app, stream[150:])
    _feed(api_app, stream)  # the whole stream redelivered: nothing changes

    engine = runtime_of(api_app).store.engine
    with engine.connect() as conn:
        stored = conn.execute(sa.select(predictions).where(predictions.c.machine_id.like("rows-%"))).mappings().all()
        kept = {row.machine_id: row for row in conn.execute(sa.select(machines)).all()}
        minutes = {(r.machine_id, r.minute_ms): r for r in conn.execute(sa.select(history_minutes)).all()}
        sums = {
            (r.machine_id, r.minute_ms, r.field): (r.n, r.total)
            for r in conn.execute(sa.select(history_minute_values)).all()
        }

    assert len(stored) == 30 * 4 + 3 + 1 + 1  # the duplicates are stored once
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    expected_minutes: dict[tuple[str, int], list[Any]] = {}
    expected_sums: dict[tuple[str, int, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for row in stored:
        counts[row["machine_id"]].update(["readings", row["status"]])
        minute = row["ts_ms"] // MINUTE_MS * MINUTE_MS
        acc = expected_minutes.setdefault((row["machine_id"], minute), [0, 0, None, -1])
        acc[0] += 1
        acc[1] += row["ts_ms"] - minute
        if row["failure_probability"] is not None:
            acc[2] = max(acc[2] or 0.0, row["failure_probability"])
        acc[3] = max(acc[3], STATUS_RANK[row["status"]])
        for name, value in json.loads(row["values_json"]).items():
            if isinstance(value, float):
                expected_sums[(row["machine_id"], minute, name)][0] += 1
                expected_sums[(row["machine_id"], minute, name)][1] += value
    for machine_id, counted in counts.items():
        machine = kept[machine_id]
        assert (machine.readings, machine.predictive, machine.failure) == tuple(
            counted[k] for k in ("readings", "predictive", "failure")
        )
    assert {
        key: value for key, value in minutes.items() if key[0].startswith("rows-")
    }.keys() == expected_minutes.keys()
    for minute_key, (n, offsets, probability, rank) in expected_minutes.items():
        got = minutes[minute_key]
        assert (got.n, got.sum_ts_offset, got.max_rank) == (n, offsets, max(rank, 0)), minute_key
        assert got.max_probability == probability, minute_key
    assert {key: value for key, value in sums.items() if key[0].startswith("rows-")}.keys() == expected_sums.keys()
    for sum_key, (n, total) in expected_sums.items():
        assert sums[sum_key][0] == n, sum_key
        assert sums[sum_key][1] == pytest.approx(total), sum_key
    assert kept["rows-05"].profile == "fan-generic"  # its latest stored reading's
    assert kept["rows-04"].profile == "ai4i-mill"
    assert (kept["rows-09"].state, kept["rows-41"].state) == ("online", "offline")
    assert "rows-40" in kept
    assert kept["rows-40"].readings == 0

    with engine.connect() as conn:  # the history of the machine with late readings, oldest first
        window = load_history(conn, "rows-03", 0, 2**62, 1000)
        day = load_history(conn, "rows-03", 0, 2**62, 2)  # bucketed from the rollup
    assert [point["ts"] for point in window.points] == sorted(point["ts"] for point in window.points)
    assert len(window.points) == 4 + 3
    assert not window.downsampled
    assert window.points[0]["ts"] == at(602)
    assert day.downsampled
    assert sum(1 for _ in day.points) <= 2


def test_a_failed_batch_leaves_no_machine_believed_stored(api_app: Flask) -> None:
    store: Store = runtime_of(api_app).store
    good = alert_row(json.dumps(alert("fail-01", "fail-01-detected-r1")).encode(), "fail-01")
    with pytest.raises(sa.exc.IntegrityError):  # a NOT NULL column left null: the batch rolls back
        store.write_batch(alert_rows=[{**good, "message": None}])
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(machines).where(machines.c.machine_id == "fail-01")).first() is None
    store.write_batch(alert_rows=[good])  # so the next batch still creates the machine
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(machines).where(machines.c.machine_id == "fail-01")).first() is not None


def test_a_status_batch_applies_a_machines_statuses_in_order(api_app: Flask) -> None:
    now = test_now()
    first, second = iso(now - timedelta(seconds=20)), iso(now - timedelta(seconds=10))
    changed = _feed(
        api_app,
        [
            ("status", ("order-1", "online", first)),
            ("status", ("order-2", "online", first)),
            ("status", ("order-1", "offline", second)),
            ("status", ("order-1", "offline", second)),
            ("status", ("order-1", "online", second)),
        ],
    )
    assert [(machine, state) for machine, state, _ts in changed] == [
        ("order-1", "online"),
        ("order-2", "online"),
        ("order-1", "offline"),
        ("order-1", "online"),
    ]
    with runtime_of(api_app).store.engine.connect() as conn:
        state = conn.execute(sa.select(machines.c.state).where(machines.c.machine_id == "order-1")).scalar()
    assert state == "online"
