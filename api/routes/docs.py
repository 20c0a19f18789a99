"""GET /api/openapi.json: the OpenAPI 3.1 description of every route."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api.openapi import document

bp = Blueprint("docs", __name__)


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return jsonify(document())
