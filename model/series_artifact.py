"""Saving and loading RUL and anomaly models, beside the classifier's versions.

Same folder and rules as model/artifact.py (issue 15's per-profile layout)::

    models/current-turbofan            # text: the profile's active version (`current` for ai4i-mill)
    models/5c0d2e9a41b7/model.onnx     # the served model (model/series_onnx.py)
    models/5c0d2e9a41b7/card.json      # kind, profile, features, windows, threshold or interval, figures
    models/5c0d2e9a41b7/source.*       # the scikit-learn / numpy source of truth (not served)

The version is the first 12 hex digits of the ONNX file's sha256; loading checks the file
against its card and refuses a model of another profile or of an unknown kind.
numpy + onnxruntime only (the worker loads these).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.artifact import (
    CARD_FILE,
    ONNX_FILE,
    ModelError,
    current_version,
    pointer_name,
    read_card,
    write_atomic,
    write_pointer,
)
from model.series import AnomalyScorer, IntervalTable, RulScorer, SeriesFeatures

__all__ = ["CARD_FILE", "ONNX_FILE", "SERIES_KINDS", "SeriesModel", "load_series_model", "save_series_model"]

SERIES_KINDS = ("rul", "anomaly")


@dataclass(frozen=True)
class SeriesModel:
    """A verified RUL or anomaly model: its card, features and ONNX export."""

    version: str
    card: dict[str, Any]
    onnx: bytes
    features: SeriesFeatures

    @property
    def kind(self) -> str:
        return str(self.card["kind"])

    def scorer(self) -> RulScorer | AnomalyScorer:
        """The serving scorer of this model's kind."""
        if self.kind == "rul":
            return RulScorer(self.onnx, IntervalTable.from_card(self.card["interval"]))
        return AnomalyScorer(self.onnx, float(self.card["threshold"]), int(self.card["warmup"]))


def save_series_model(card: dict[str, Any], onnx: bytes, models_dir: Path, sources: dict[str, bytes]) -> str:
    """Write a new version (ONNX, sources, card) and point its profile's pointer at it."""
    digest = hashlib.sha256(onnx).hexdigest()
    version = digest[:12]
    folder = models_dir / version
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / ONNX_FILE, onnx)
    files = {}
    for name, data in sources.items():
        write_atomic(folder / name, data)
        files[name] = hashlib.sha256(data).hexdigest()
    full = {**card, "version": version, "onnx": {**card.get("onnx", {}), "file": ONNX_FILE, "sha256": digest}}
    full["sources"] = files
    write_atomic(folder / CARD_FILE, json.dumps(full, indent=2).encode() + b"\n")
    # The pointer moves last, so readers never see a version whose files are incomplete.
    write_pointer(models_dir / pointer_name(card["profile"]["id"]), version)
    return version


def load_series_model(models_dir: Path, profile_id: str, version: str | None = None) -> SeriesModel:
    """Load and verify `version` (default: the profile's current one), or raise ModelError."""
    version = version or current_version(models_dir, profile_id)
    if version is None:
        raise ModelError(
            f"no model for profile {profile_id} in {models_dir}: run `python -m training --profile {profile_id}`"
        )
    card = read_card(models_dir, version, profile_id)
    if card.get("kind") not in SERIES_KINDS:
        raise ModelError(f"model {version}: kind {card.get('kind')!r} is not one of {', '.join(SERIES_KINDS)}")
    folder = models_dir / version
    try:
        onnx = (folder / ONNX_FILE).read_bytes()
    except OSError as exc:
        raise ModelError(f"model {version}: cannot read {folder / ONNX_FILE}: {exc.strerror}") from None
    if hashlib.sha256(onnx).hexdigest() != card.get("onnx", {}).get("sha256") or not card["onnx"]["sha256"].startswith(
        version
    ):
        raise ModelError(f"model {version}: {ONNX_FILE} does not match its card; refusing to load")
    try:
        features = SeriesFeatures.from_card(card["features"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model {version}: card features unusable ({exc})") from None
    return SeriesModel(version, card, onnx, features)
