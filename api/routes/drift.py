"""Drift: how far recent readings are from the data the model in service was trained on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from flask import Blueprint, Response, jsonify, request

from api.params import integer, machine_id
from api.runtime import runtime
from model.drift import drift_report

bp = Blueprint("drift", __name__)


@bp.get("/api/drift")
def drift() -> Response:
    state = runtime()
    machine = machine_id(request.args.get("machine"))
    limit = integer(request.args, "limit", 1000, 10, 50_000)
    version, reference = _reference(state.config.models_dir)
    body: dict[str, Any] = {
        "model_version": version,
        "machine_id": machine,
        "window": 0,
        "reason": None,
        "features": [],
    }
    if reference is None:
        body["reason"] = "the model card has no training distribution (retrain with `python -m training`)"
        return jsonify(body)
    features = tuple(reference)  # the sensors the model was trained on
    recent = state.queries.recent_values(machine, features, limit)
    body["window"] = len(recent[features[0]]) if features else 0
    body["features"] = drift_report(reference, {k: np.asarray(v, dtype=float) for k, v in recent.items()})
    if not body["window"]:
        body["reason"] = "no readings yet"
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
