"""Machines: the live list, one machine, and its (downsampled) history."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from api.errors import ApiError
from api.params import integer, timestamp
from api.runtime import runtime

bp = Blueprint("machines", __name__)

_DAY_MS = 86_400_000
MAX_HISTORY_POINTS = 10_000


@bp.get("/api/machines")
def list_machines() -> Response:
    state = runtime()
    machines, counts = state.cache.summaries(state.now_ms())
    return jsonify({"machines": machines, "counts": counts})


@bp.get("/api/machines/<machine_id>")
def one_machine(machine_id: str) -> Response:
    return jsonify(_summary(machine_id))


@bp.get("/api/machines/<machine_id>/history")
def history(machine_id: str) -> Response:
    """Oldest first; by default the 24 hours up to now; bucketed when over `limit` points."""
    state = runtime()
    summary = _summary(machine_id)
    until = timestamp(request.args, "until")
    until = state.now_ms() if until is None else until
    since = timestamp(request.args, "since")
    since = until - _DAY_MS if since is None else since
    limit = integer(request.args, "limit", 1000, 1, MAX_HISTORY_POINTS)
    found = state.queries.history(machine_id, since, until, limit)
    return jsonify(
        {
            "machine_id": machine_id,
            "threshold": summary["threshold"],
            "downsampled": found.downsampled,
            "points": found.points,
        }
    )


def _summary(machine_id: str) -> dict[str, Any]:
    state = runtime()
    summary = state.cache.summary(machine_id, state.now_ms())
    if summary is None:
        raise ApiError(404, f"unknown machine {machine_id!r}", "machine_id")
    return summary
