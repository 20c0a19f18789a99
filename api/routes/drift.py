"""Drift: how far recent readings are from the data the model in service was trained on.

`limit` is the window the caller wants compared; a sensor whose natural cycle is longer (the
card's per-sensor `window`, see model/drift.py) is judged on that many readings, so up to
that many are read. Sensors not judged (too few readings yet, or a cycle longer than the training data shows
and in range) are listed under `pending` with why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import Blueprint, Response, jsonify, request

from api.errors import ApiError
from api.params import integer, machine_id, profile_id
from api.runtime import runtime
from model.drift import assess, pending_entry, readings_needed

bp = Blueprint("drift", __name__)
MAX_READINGS = 50_000


@bp.get("/api/drift")
def drift() -> Response:
    """Per field of the profile's model card; the profile is the machine's, the one asked, or the default."""
    state = runtime()
    machine = machine_id(request.args.get("machine"))
    limit = integer(request.args, "limit", 1000, 10, MAX_READINGS)
    profile = profile_id(request.args.get("profile"))
    if machine is not None:
        bound = state.queries.machine_profiles(machine).get(machine)
        if profile is not None and bound is not None and bound != profile:
            raise ApiError(400, f"machine {machine!r} has profile {bound!r}, not {profile!r}", "profile")
        profile = profile or bound
    profile = profile or state.default_profile
    version, reference = state.training_distribution(profile)
    body: dict[str, Any] = {
        "model_version": version,
        "machine_id": machine,
        "profile": profile,
        "window": 0,
        "reason": None,
        "features": [],
        "pending": [],
    }
    if version is None:
        body["reason"] = (
            f"no model of profile {profile} is in service (train one: python -m training --profile {profile})"
        )
        return jsonify(body)
    if reference is None:
        body["reason"] = "the model card has no training distribution (retrain with `python -m training`)"
        return jsonify(body)
    fetch = min(readings_needed(reference, limit), MAX_READINGS)
    recent = state.queries.recent_values(machine, profile, list(reference), fetch)
    assessed = assess(reference, {k: np.asarray(v, dtype=float) for k, v in recent.items()}, limit)
    body["features"] = [entry for entry in assessed if entry["level"] != "pending"]
    body["pending"] = [pending_entry(entry) for entry in assessed if entry["level"] == "pending"]
    body["window"] = max((entry["readings"] for entry in body["features"]), default=0)
    if not any(recent.values()):
        body["reason"] = "no readings yet"
    elif not body["features"]:
        body["reason"] = "not enough readings yet to compare like with like (see pending)"
    return jsonify(body)
