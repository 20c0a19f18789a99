"""Feedback routes: verdicts on alerts, the maintenance log, snoozes and maintenance windows,
what silences an alert event, and the alert-quality report.

Writes (POST, DELETE) need the token like every write (api/security.py); bodies are checked
by the pydantic models of api/feedback.py and a bad one is a 400 naming the field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, Literal, TypeVar

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ValidationError

from api.errors import ApiError
from api.feedback import MaintenanceRequest, SnoozeRequest, VerdictRequest, WindowRequest, epoch_ms
from api.params import flag, integer, json_object, machine_id, timestamp
from api.quality import DAY_MS, quality_report
from api.runtime import runtime

bp = Blueprint("feedback", __name__)
M = TypeVar("M", bound=BaseModel)
VERDICT_CSV_FIELDS = (
    "alert_id",
    "machine_id",
    "profile",
    "kind",
    "verdict",
    "mode",
    "note",
    "by",
    "at",
    "model_version",
    "alert_opened_at",
)


def _body(model: type[M]) -> M:
    body = json_object()
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        message = first["msg"].removeprefix("Value error, ")
        raise ApiError(400, f"{field}: {message}" if field else message, field) from None


# -- verdicts ----------------------------------------------------------------------------


@bp.post("/api/alerts/<alert_id>/verdict")
def give_verdict(alert_id: str) -> Response:
    """Record a verdict; a later one replaces it as the alert's verdict, the earlier stay as history."""
    state = runtime()
    verdict = state.feedback.give_verdict(alert_id, _body(VerdictRequest), state.now_ms())
    if verdict is None:
        raise ApiError(404, f"unknown alert {alert_id!r}: no stored alert has this id (GET /api/alerts)", "alert_id")
    return jsonify(verdict)


def _verdicts() -> list[dict[str, Any]]:
    return runtime().feedback.verdicts(
        alert_id=request.args.get("alert_id"),
        machine_id=machine_id(request.args.get("machine")),
        latest_only=not flag(request.args, "history", default=False),
        after=_after(),
        limit=integer(request.args, "limit", 5000, 1, 100_000),
    )


@bp.get("/api/verdicts")
def list_verdicts() -> Response:
    return jsonify({"verdicts": _verdicts()})


@bp.get("/api/verdicts.csv")
def export_verdicts() -> Response:
    rows = _verdicts()

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.DictWriter(out, VERDICT_CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        yield out.getvalue()

    headers = {"Content-Disposition": 'attachment; filename="verdicts.csv"'}
    return Response(lines(), mimetype="text/csv", headers=headers)


# -- maintenance log ---------------------------------------------------------------------


@bp.post("/api/maintenance")
def log_maintenance() -> Response:
    state = runtime()
    body = _body(MaintenanceRequest)
    now = state.now_ms()
    at = now if body.at is None else epoch_ms(body.at)
    return jsonify(state.feedback.log_maintenance(body, at, now))


@bp.get("/api/maintenance")
def list_maintenance() -> Response:
    machine = machine_id(request.args.get("machine"))
    limit = integer(request.args, "limit", 5000, 1, 100_000)
    return jsonify({"maintenance": runtime().feedback.maintenance(machine, limit, _after())})


def _after() -> int | None:
    """`after`: an id; only rows recorded after it, oldest first (to follow a feed)."""
    if request.args.get("after") is None:
        return None
    return integer(request.args, "after", 0, 0, 2**62)


# -- snoozes and maintenance windows -----------------------------------------------------


@bp.post("/api/snoozes")
def add_snooze() -> Response:
    state = runtime()
    body = _body(SnoozeRequest)
    now = state.now_ms()
    if body.minutes is not None:
        until = now + body.minutes * 60_000
    else:
        assert body.until is not None  # the model wants minutes or until
        until = epoch_ms(body.until)
    if until <= now:
        raise ApiError(400, "until must be in the future", "until")
    return jsonify(state.feedback.snooze(body, until, now))


@bp.get("/api/snoozes")
def list_snoozes() -> Response:
    return jsonify({"snoozes": runtime().feedback.snoozes(_active_at())})


@bp.delete("/api/snoozes/<item_id>")
def delete_snooze(item_id: str) -> Response:
    return _delete("snoozes", item_id, "snooze")


@bp.post("/api/maintenance-windows")
def add_window() -> Response:
    state = runtime()
    body = _body(WindowRequest)
    start, end = epoch_ms(body.start), epoch_ms(body.end)
    if end <= start:
        raise ApiError(400, "end must be after start", "end")
    return jsonify(state.feedback.add_window(body, start, end, state.now_ms()))


@bp.get("/api/maintenance-windows")
def list_windows() -> Response:
    return jsonify({"windows": runtime().feedback.windows(_active_at())})


@bp.delete("/api/maintenance-windows/<item_id>")
def delete_window(item_id: str) -> Response:
    return _delete("maintenance_windows", item_id, "maintenance window")


def _active_at() -> int | None:
    """`active` (default true): only what is in force now, given as now; false: everything (None)."""
    return runtime().now_ms() if flag(request.args, "active", default=True) else None


def _delete(what: Literal["snoozes", "maintenance_windows"], raw_id: str, label: str) -> Response:
    if not raw_id.isdigit() or len(raw_id) > 18:
        raise ApiError(404, f"unknown id {raw_id[:32]!r}: ids are whole numbers", "item_id")
    number = int(raw_id)
    if not runtime().feedback.delete(what, number):
        raise ApiError(404, f"unknown {label} {number}", "item_id")
    return jsonify({"deleted": number})


@bp.get("/api/silences")
def silences() -> Response:
    """Whether an alert event of `machine` (and `alert_id`) at `at` (default now) is to be notified."""
    state = runtime()
    machine = machine_id(request.args.get("machine"))
    if machine is None:
        raise ApiError(400, "machine is required", "machine")
    at = timestamp(request.args, "at")
    found = state.feedback.silences(machine, request.args.get("alert_id"), state.now_ms() if at is None else at)
    return jsonify({"silenced": bool(found), "silences": found})


# -- alert quality -----------------------------------------------------------------------


@bp.get("/api/alerts/quality")
def alert_quality() -> Response:
    state = runtime()
    until = timestamp(request.args, "until") or state.now_ms()
    since = timestamp(request.args, "since") or until - 30 * DAY_MS  # since after until: no alerts
    machines = state.queries.machine_profiles().keys()
    report = quality_report(state.feedback.alert_rows(since, until), machines, since, until)
    return jsonify(report)
