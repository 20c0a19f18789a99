"""Feedback from the people who run the machines: verdicts, maintenance log, snoozes and
maintenance windows (tables of revision 0004), and what they silence.

    feedback = Feedback(engine)
    feedback.give_verdict(alert_id, VerdictRequest(...), now_ms)   # None: no such alert
    feedback.verdicts(latest_only=True)          # one row per alert, newest verdict first
    feedback.silence(machine_id, alert_id, at_ms)  # what keeps an alert event from being notified

A verdict is changeable: each one is a new row, the latest of an alert is its verdict and
the earlier ones are kept as history. The request bodies are pydantic models, so the
checks and the OpenAPI schemas are one source.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from api.db import alerts, maintenance, maintenance_windows, predictions, snoozes, verdicts
from api.params import NAME_MAX, NAME_PATTERN
from api.rows import epoch_ms, ms_to_ts  # epoch_ms: the routes and bench/alert_replay.py take it from here

__all__ = [
    "MAINTENANCE_ACTIONS",
    "VERDICTS",
    "Feedback",
    "MaintenanceRequest",
    "SnoozeRequest",
    "VerdictRequest",
    "WindowRequest",
    "epoch_ms",
]

Verdict = Literal["real_failure", "false_alarm", "planned_maintenance", "unsure"]
Action = Literal["tool_replaced", "repaired", "inspected", "other"]
VERDICTS: tuple[str, ...] = ("real_failure", "false_alarm", "planned_maintenance", "unsure")
MAINTENANCE_ACTIONS: tuple[str, ...] = ("tool_replaced", "repaired", "inspected", "other")
MAX_SNOOZE_MIN = 7 * 24 * 60
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _text(value: object) -> object:
    """Times come as RFC 3339 text only (pydantic would also take a number of seconds)."""
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp with offset, e.g. 2026-11-27T08:00:00Z")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_text)]
_MACHINE = r"^[A-Za-z0-9_-]{1,64}$"
_Name = Field(None, min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN, description="who: a person's name")
# 1,000 characters: even written as JSON escapes (12 bytes for a character outside the BMP) a
# note fits the API's 16 KiB body limit, so a note of an allowed length is never refused as too large.
_Note = Field(None, max_length=1000, description="free text")


class VerdictRequest(BaseModel):
    """POST /api/alerts/{alert_id}/verdict."""

    model_config = _STRICT
    verdict: Verdict
    mode: str | None = Field(None, min_length=1, max_length=64, description="the failure mode, for a real failure")
    note: str | None = _Note
    by: str | None = _Name


class MaintenanceRequest(BaseModel):
    """POST /api/maintenance."""

    model_config = _STRICT
    machine_id: str = Field(pattern=_MACHINE)
    action: Action
    at: Timestamp | None = Field(None, description="when it was done (RFC 3339 with offset); default now")
    note: str | None = _Note
    by: str | None = _Name


class SnoozeRequest(BaseModel):
    """POST /api/snoozes: a machine's every alert, or one alert, for `minutes` (or `until`, in the future)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"description": "machine_id or alert_id (one of them); minutes or until (one of them)"},
    )
    machine_id: str | None = Field(None, pattern=_MACHINE)
    alert_id: str | None = Field(None, min_length=1, max_length=256)
    minutes: int | None = Field(None, ge=1, le=MAX_SNOOZE_MIN)
    until: Timestamp | None = Field(None, description="RFC 3339 with offset, in the future")
    note: str | None = _Note
    by: str | None = _Name

    @model_validator(mode="after")
    def _one_target_one_end(self) -> SnoozeRequest:
        if (self.machine_id is None) == (self.alert_id is None):
            raise ValueError("give machine_id or alert_id (one of them)")
        if (self.minutes is None) == (self.until is None):
            raise ValueError("give minutes or until (one of them)")
        return self


class WindowRequest(BaseModel):
    """POST /api/maintenance-windows: a machine's scheduled maintenance, alerts not notified."""

    model_config = _STRICT
    machine_id: str = Field(pattern=_MACHINE)
    start: Timestamp = Field(description="RFC 3339 with offset")
    end: Timestamp = Field(description="RFC 3339 with offset, after start")
    note: str | None = _Note
    by: str | None = _Name


class Feedback:
    """Reads and writes of the feedback tables."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- verdicts ------------------------------------------------------------------------

    def give_verdict(self, alert_id: str, request: VerdictRequest, now_ms: int) -> dict[str, Any] | None:
        """Store a verdict (a new row: history kept); None when the alert is unknown."""
        a = alerts.c
        query = sa.select(
            a.machine_id, a.profile, a.kind, a.opened_at_ms, a.predicted_mode, _raised_by().label("model_version")
        ).where(a.alert_id == alert_id)
        with self.engine.begin() as conn:
            found = conn.execute(query).mappings().first()
            if found is None:
                return None
            row = {
                "alert_id": alert_id,
                "machine_id": found["machine_id"],
                "profile": found["profile"],
                "kind": found["kind"],
                "verdict": request.verdict,
                # a real failure without a mode named is one of the mode the alert predicted
                "mode": request.mode or (found["predicted_mode"] if request.verdict == "real_failure" else None),
                "note": request.note,
                "by": request.by,
                "at_ms": now_ms,
                "model_version": found["model_version"],
                "alert_opened_at_ms": found["opened_at_ms"],
            }
            row["id"] = _insert(conn, verdicts, row)
        return _verdict_view(row)

    def verdicts(
        self,
        *,
        alert_id: str | None = None,
        machine_id: str | None = None,
        latest_only: bool = True,
        after: int | None = None,
        limit: int = 5000,
    ) -> list[dict[str, Any]]:
        """Verdicts, newest first: one per alert (its latest), or every one given (history).
        With `after` (an id): those given after it, oldest first (a feed to follow)."""
        v = verdicts.c
        query = _newest_first(sa.select(verdicts), v.at_ms, v.id, after).limit(limit)
        if latest_only:
            latest = sa.select(sa.func.max(v.id)).group_by(v.alert_id).scalar_subquery()
            query = query.where(v.id.in_(latest))
        if alert_id is not None:
            query = query.where(v.alert_id == alert_id)
        if machine_id is not None:
            query = query.where(v.machine_id == machine_id)
        with self.engine.connect() as conn:
            return [_verdict_view(row) for row in conn.execute(query).mappings()]

    # -- maintenance -----------------------------------------------------------------------

    def log_maintenance(self, request: MaintenanceRequest, at_ms: int, now_ms: int) -> dict[str, Any]:
        row = {
            "machine_id": request.machine_id,
            "action": request.action,
            "at_ms": at_ms,
            "note": request.note,
            "by": request.by,
            "recorded_at_ms": now_ms,
        }
        with self.engine.begin() as conn:
            row["id"] = _insert(conn, maintenance, row)
        return _maintenance_view(row)

    def maintenance(
        self, machine_id: str | None = None, limit: int = 5000, after: int | None = None
    ) -> list[dict[str, Any]]:
        """The log, newest first; with `after` (an id): the entries recorded after it, oldest first."""
        m = maintenance.c
        query = _newest_first(sa.select(maintenance), m.at_ms, m.id, after).limit(limit)
        if machine_id is not None:
            query = query.where(m.machine_id == machine_id)
        with self.engine.connect() as conn:
            return [_maintenance_view(row) for row in conn.execute(query).mappings()]

    # -- snoozes and maintenance windows ----------------------------------------------------

    def snooze(self, request: SnoozeRequest, until_ms: int, now_ms: int) -> dict[str, Any]:
        row = {
            "machine_id": request.machine_id,
            "alert_id": request.alert_id,
            "until_ms": until_ms,
            "note": request.note,
            "by": request.by,
            "created_at_ms": now_ms,
        }
        with self.engine.begin() as conn:
            row["id"] = _insert(conn, snoozes, row)
        return _snooze_view(row)

    def add_window(self, request: WindowRequest, starts_ms: int, ends_ms: int, now_ms: int) -> dict[str, Any]:
        row = {
            "machine_id": request.machine_id,
            "starts_ms": starts_ms,
            "ends_ms": ends_ms,
            "note": request.note,
            "by": request.by,
            "created_at_ms": now_ms,
        }
        with self.engine.begin() as conn:
            row["id"] = _insert(conn, maintenance_windows, row)
        return _window_view(row)

    def snoozes(self, active_at_ms: int | None = None) -> list[dict[str, Any]]:
        s = snoozes.c
        query = sa.select(snoozes).order_by(s.until_ms.desc(), s.id.desc())
        if active_at_ms is not None:
            query = query.where(s.until_ms > active_at_ms)
        with self.engine.connect() as conn:
            return [_snooze_view(row) for row in conn.execute(query).mappings()]

    def windows(self, active_at_ms: int | None = None) -> list[dict[str, Any]]:
        w = maintenance_windows.c
        query = sa.select(maintenance_windows).order_by(w.starts_ms.desc(), w.id.desc())
        if active_at_ms is not None:
            query = query.where(w.ends_ms > active_at_ms)
        with self.engine.connect() as conn:
            return [_window_view(row) for row in conn.execute(query).mappings()]

    def delete(self, what: Literal["snoozes", "maintenance_windows"], item_id: int) -> bool:
        table = snoozes if what == "snoozes" else maintenance_windows
        with self.engine.begin() as conn:
            return bool(conn.execute(sa.delete(table).where(table.c.id == item_id)).rowcount)

    def silences(self, machine_id: str, alert_id: str | None, at_ms: int) -> list[dict[str, Any]]:
        """What silences an alert event of `machine_id` (and `alert_id`) at `at_ms`: the snoozes
        and maintenance windows in force then (empty: notify)."""
        s, w = snoozes.c, maintenance_windows.c
        targets = s.machine_id == machine_id
        if alert_id is not None:
            targets = sa.or_(targets, s.alert_id == alert_id)
        snoozed = sa.select(snoozes).where(targets, s.until_ms > at_ms)
        windowed = sa.select(maintenance_windows).where(
            w.machine_id == machine_id, w.starts_ms <= at_ms, w.ends_ms > at_ms
        )
        with self.engine.connect() as conn:
            found = [{"type": "snooze"} | _snooze_view(row) for row in conn.execute(snoozed).mappings()]
            found += [{"type": "maintenance_window"} | _window_view(row) for row in conn.execute(windowed).mappings()]
        return found

    # -- for the quality report -----------------------------------------------------------

    def alert_rows(self, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """Alerts opened in the window, with their model version and latest verdict."""
        a, v = alerts.c, verdicts.c
        newest = sa.select(sa.func.max(v.id)).group_by(v.alert_id)
        latest = sa.select(v.alert_id, v.verdict, v.model_version).where(v.id.in_(newest)).subquery("latest")
        query = (
            sa.select(
                a.alert_id,
                a.machine_id,
                a.kind,
                a.predicted_mode,
                a.opened_at_ms,
                a.acked_at_ms,
                sa.func.coalesce(_raised_by(), latest.c.model_version).label("model_version"),
                latest.c.verdict,
            )
            .select_from(alerts.outerjoin(latest, latest.c.alert_id == a.alert_id))
            .where(a.opened_at_ms >= since_ms, a.opened_at_ms <= until_ms)
        )
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]


def _newest_first(
    query: sa.Select[Any], at: sa.Column[Any], row_id: sa.Column[Any], after: int | None
) -> sa.Select[Any]:
    """Newest first; with `after` (an id): the rows recorded after it, oldest first (a feed to follow)."""
    if after is None:
        return query.order_by(at.desc(), row_id.desc())
    return query.where(row_id > after).order_by(row_id)


def _raised_by() -> sa.ScalarSelect[Any]:
    """The model version of the prediction that raised an alert (a correlated subquery on `alerts`)."""
    a, p = alerts.c, predictions.c
    return (
        sa.select(p.model_version).where(p.machine_id == a.machine_id, p.reading_id == a.reading_id).scalar_subquery()
    )


def _insert(conn: sa.Connection, table: sa.Table, row: dict[str, Any]) -> int:
    """Insert one row; its new id."""
    key = conn.execute(sa.insert(table).values(row)).inserted_primary_key
    assert key is not None  # an INSERT of one row has one
    return int(key[0])


def _verdict_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "alert_id": row["alert_id"],
        "machine_id": row["machine_id"],
        "profile": row["profile"],
        "kind": row["kind"],
        "verdict": row["verdict"],
        "mode": row["mode"],
        "note": row["note"],
        "by": row["by"],
        "at": ms_to_ts(row["at_ms"]),
        "model_version": row["model_version"],
        "alert_opened_at": ms_to_ts(row["alert_opened_at_ms"]),
    }


def _maintenance_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "machine_id": row["machine_id"],
        "action": row["action"],
        "at": ms_to_ts(row["at_ms"]),
        "note": row["note"],
        "by": row["by"],
        "recorded_at": ms_to_ts(row["recorded_at_ms"]),
    }


def _snooze_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "machine_id": row["machine_id"],
        "alert_id": row["alert_id"],
        "until": ms_to_ts(row["until_ms"]),
        "note": row["note"],
        "by": row["by"],
        "created_at": ms_to_ts(row["created_at_ms"]),
    }


def _window_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "machine_id": row["machine_id"],
        "start": ms_to_ts(row["starts_ms"]),
        "end": ms_to_ts(row["ends_ms"]),
        "note": row["note"],
        "by": row["by"],
        "created_at": ms_to_ts(row["created_at_ms"]),
    }
