"""Drift: how far recent readings are from the data the model in service was trained on.

`limit` is the window the caller wants compared; a sensor whose natural cycle is longer (the
card's per-sensor `window`, see model/drift.py) is judged on that many readings, so up to
that many are read. Sensors not judged (too few readings yet, or a cycle longer than the training data shows
and in range) are listed under `pending` with why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from flask import Blueprint, Response, jsonify, request

from api.params import integer, machine_id
from api.runtime import runtime
from model.drift import DRIFT_FEATURES, assess, pending_entry, readings_needed

bp = Blueprint("drift", __name__)
MAX_READINGS = 50_000


@bp.get("/api/drift")
def drift() -> Response:
    state = runtime()
    machine = machine_id(request.args.get("machine"))
    limit = integer(request.args, "limit", 1000, 10, MAX_READINGS)
    version, reference = _reference(state.config.models_dir)
    body: dict[str, Any] = {
        "model_version": version,
        "machine_id": machine,
        "window": 0,
        "reason": None,
        "features": [],
        "pending": [],
    }
    if reference is None:
        body["reason"] = "the model card has no training distribution (retrain with `python -m training`)"
        return jsonify(body)
    fetch = min(readings_needed(reference, limit), MAX_READINGS)
    recent = state.queries.recent_values(machine, DRIFT_FEATURES, fetch)
    assessed = assess(reference, {k: np.asarray(v, dtype=float) for k, v in recent.items()}, limit)
    body["features"] = [entry for entry in assessed if entry["level"] != "pending"]
    body["pending"] = [pending_entry(entry) for entry in assessed if entry["level"] == "pending"]
    body["window"] = max((entry["readings"] for entry in body["features"]), default=0)
    if not recent[DRIFT_FEATURES[0]]:
        body["reason"] = "no readings yet"
    elif not body["features"]:
        body["reason"] = "not enough readings yet to compare like with like (see pending)"
    return jsonify(body)


def _reference(models_dir: Path | None) -> tuple[str | None, dict[str, Any] | None]:
    """The model in service and its card's training distribution (JSON only: nothing unpickled)."""
    if models_dir is None:
        return None, None
    try:
        version = (models_dir / "current").read_text().strip()
        card = json.loads((models_dir / version / "card.json").read_text())
    except (OSError, ValueError):
        return None, None
    return version, card.get("training_distribution")
