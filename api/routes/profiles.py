"""Profiles: what machines of each class measure (fields, labels, units, bounds), how they fail,
and what is derived from their readings, so clients render any machine without knowing it."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api.errors import ApiError
from api.runtime import runtime

bp = Blueprint("profiles", __name__)


@bp.get("/api/profiles")
def list_profiles() -> Response:
    """Every profile the API knows (built in, and added to the registry), sorted by id."""
    profiles = runtime().registry.profiles()
    return jsonify({"profiles": [profiles[key].to_json_dict() for key in sorted(profiles)]})


@bp.get("/api/profiles/<profile>")
def one_profile(profile: str) -> Response:
    found = runtime().registry.profile(profile)
    if found is None:
        raise ApiError(404, f"unknown profile {profile!r}", "profile")
    return jsonify(found.to_json_dict())
