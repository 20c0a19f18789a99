"""GET /api/health: broker connected, database reachable, ingest lag; 503 when not ready."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api.runtime import runtime

bp = Blueprint("health", __name__)


@bp.get("/api/health")
def health() -> tuple[Response, int]:
    document, ready = runtime().health()
    return jsonify(document), 200 if ready else 503
