"""Drift: how far recent readings are from the data the model in service was trained on."""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import Blueprint, Response, jsonify, request

from api.errors import ApiError
from api.params import integer, machine_id, profile_id
from api.runtime import runtime
from model.drift import drift_report

bp = Blueprint("drift", __name__)


@bp.get("/api/drift")
def drift() -> Response:
    """Per field of the profile's model card; the profile is the machine's, the one asked, or the default."""
    state = runtime()
    machine = machine_id(request.args.get("machine"))
    limit = integer(request.args, "limit", 1000, 10, 50_000)
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
    }
    if version is None:
        body["reason"] = (
            f"no model of profile {profile} is in service (train one: python -m training --profile {profile})"
        )
        return jsonify(body)
    if reference is None:
        body["reason"] = "the model card has no training distribution (retrain with `python -m training`)"
        return jsonify(body)
    recent = state.queries.recent_values(machine, profile, list(reference), limit)
    body["window"] = max((len(values) for values in recent.values()), default=0)
    body["features"] = drift_report(reference, {k: np.asarray(v, dtype=float) for k, v in recent.items()})
    if not body["window"]:
        body["reason"] = "no readings yet"
    return jsonify(body)
