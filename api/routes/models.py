"""Models: each profile's champion, challenger and previous model, their comparison, promotion and rollback.

Reads the pointer files and model cards as JSON (nothing is unpickled here) under
FOREWARN_MODELS_DIR; the comparison is computed from the store (training/comparing.py) on the
readings both models scored. Promotion and rollback (writes: token) move the pointers
(model/roles.py); the workers follow them between two batches, without a restart. The API
needs write access to the models folder for them (409 when it is refused).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify

from api.errors import ApiError
from api.runtime import runtime
from contract import Profile
from model.artifact import CARD_FILE, ModelError
from model.roles import Move, Role, promote, read_role, rollback

bp = Blueprint("models", __name__)

_ROLES: tuple[Role, ...] = ("current", "challenger", "previous")
_NAMES = {"current": "champion", "challenger": "challenger", "previous": "previous"}


@bp.get("/api/models")
def list_models() -> Response:
    """Per known profile, the versions its pointers name and what their cards say."""
    state = runtime()
    folder = state.config.models_dir
    profiles = sorted(state.registry.profiles())
    return jsonify({"models": [_roles(folder, profile) for profile in profiles]})


@bp.get("/api/models/<profile>/comparison")
def comparison(profile: str) -> Response:
    from training.comparing import compare_in_store
    from training.history import HistoryError

    known = _profile(profile)
    folder = runtime().config.models_dir
    challenger = _read(folder, "challenger", known.id) if folder is not None else None
    try:
        found, _readings = compare_in_store(
            runtime().store.engine, known, challenger, runtime().config.alert_clear_after
        )
    except HistoryError as exc:
        return jsonify({"profile": known.id, "comparison": None, "reason": str(exc)})
    return jsonify({"profile": known.id, "comparison": found.as_dict(), "reason": None})


@bp.post("/api/models/<profile>/promote")
def promote_challenger(profile: str) -> Response:
    return _move(profile, promote)


@bp.post("/api/models/<profile>/rollback")
def roll_back(profile: str) -> Response:
    return _move(profile, rollback)


def _move(profile: str, action: Callable[[Path, str], Move]) -> Response:
    known = _profile(profile)
    folder = runtime().config.models_dir
    if folder is None:
        raise ApiError(503, "no models folder is configured (FOREWARN_MODELS_DIR)")
    try:
        move = action(folder, known.id)
    except ModelError as exc:
        raise ApiError(409, str(exc)) from None
    except OSError as exc:
        raise ApiError(409, f"cannot move the pointers in {folder}: {exc.strerror}") from None
    return jsonify({"profile": known.id, "action": move.action, "before": move.before, "after": move.after})


def _profile(value: str) -> Profile:
    found = runtime().registry.profile(value)
    if found is None:
        raise ApiError(404, f"unknown profile {value!r}", "profile")
    return found


def _read(folder: Path, role: Role, profile: str) -> str | None:
    try:
        return read_role(folder, role, profile)
    except ModelError:
        return None


def _roles(folder: Path | None, profile: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"profile": profile}
    for role in _ROLES:
        version = _read(folder, role, profile) if folder is not None else None
        entry[_NAMES[role]] = None if version is None else _card_summary(folder, version)  # type: ignore[arg-type]
    return entry


def _card_summary(folder: Path, version: str) -> dict[str, Any]:
    """What the Models view shows of a version: when, on what, how well (null when its card is unreadable)."""
    try:
        card = json.loads((folder / version / CARD_FILE).read_text())
    except (OSError, ValueError):
        card = None
    if not isinstance(card, dict):
        return {"version": version, "created_at": None, "threshold": None, "source": None, "validation": None,
                "labels": None}  # fmt: skip
    found = card.get("data")
    data: dict[str, Any] = found if isinstance(found, dict) else {}
    validation = (card.get("metrics") or {}).get("validation") or {}
    labels = data.get("labels")
    return {
        "version": version,
        "created_at": card.get("created_at"),
        "threshold": card.get("threshold"),
        "source": data.get("source", "files"),
        "validation": {k: validation.get(k) for k in ("precision", "recall", "f1")} if validation else None,
        "labels": {k: v.get("readings") for k, v in labels.items()} if isinstance(labels, dict) else None,
    }
