"""Alerts: the list (open first, newest first) and the acknowledgement (a write)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api.errors import ApiError
from api.params import integer, json_object, machine_id, one_of, person_name
from api.runtime import runtime

bp = Blueprint("alerts", __name__)


@bp.get("/api/alerts")
def list_alerts() -> Response:
    state = one_of(request.args, "state", ("open", "cleared", "all"), "all") or "all"
    machine = machine_id(request.args.get("machine"))
    limit = integer(request.args, "limit", 500, 1, 5000)
    return jsonify({"alerts": runtime().queries.alerts(state, machine, limit)})


@bp.post("/api/alerts/<alert_id>/ack")
def acknowledge(alert_id: str) -> Response:
    """Record who acknowledged the alert; the first acknowledgement stands."""
    body = json_object('body must be a JSON object like {"by": "name"}')
    view = runtime().acknowledge(alert_id, person_name(body.get("by"), "by"))
    if view is None:
        raise ApiError(404, f"unknown alert {alert_id!r}", "alert_id")
    return jsonify(view)
