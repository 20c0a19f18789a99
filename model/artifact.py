"""Saving and loading model versions under ``var/models``.

Layout (old versions stay, so a rollback is rewriting ``current``)::

    models/current                  # text: the active version, e.g. "3f2a9c1b7d04"
    models/3f2a9c1b7d04/model.skops # the fitted Pipeline, skops format
    models/3f2a9c1b7d04/card.json   # metrics, threshold, data and library versions

The version is the first 12 hex digits of the model file's sha256. Loading checks the
file against the card and refuses any type outside :data:`TRUSTED_TYPES`, because
loading a model is running code: skops only rebuilds types we allow.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import skops.io
from sklearn.pipeline import Pipeline

__all__ = [
    "CARD_FILE",
    "CURRENT_FILE",
    "MODEL_FILE",
    "NO_FAILURE",
    "TRUSTED_TYPES",
    "LoadedModel",
    "ModelError",
    "current_version",
    "load_model",
    "save_model",
]

MODEL_FILE = "model.skops"
CARD_FILE = "card.json"
CURRENT_FILE = "current"
NO_FAILURE = "none"  # the classifier's label for "no failure"
# Types skops does not trust by default that our Pipeline needs; anything else is refused.
# (skops already trusts the scikit-learn estimators and numpy types it knows.)
TRUSTED_TYPES: frozenset[str] = frozenset({"model.features.FeatureBuilder", "sklearn.tree._tree.Tree"})
_VERSION_PATTERN = re.compile(r"^[0-9a-f]{12}$")


class ModelError(Exception):
    """A model that is missing, corrupt or untrusted; the message is one line."""


@dataclass(frozen=True)
class LoadedModel:
    """A verified model version ready for scoring."""

    version: str
    pipeline: Pipeline
    card: dict[str, Any]
    threshold: float
    classes: tuple[str, ...]


def save_model(pipeline: Pipeline, card: dict[str, Any], models_dir: Path) -> str:
    """Write a new version (model file + card), point ``current`` at it, return the version."""
    data = skops.io.dumps(pipeline, compression=zipfile.ZIP_DEFLATED)
    digest = hashlib.sha256(data).hexdigest()
    version = digest[:12]
    folder = models_dir / version
    folder.mkdir(parents=True, exist_ok=True)
    full_card = {**card, "version": version, "model_sha256": digest, "model_bytes": len(data)}
    _write_atomic(folder / MODEL_FILE, data)
    _write_atomic(folder / CARD_FILE, json.dumps(full_card, indent=2).encode() + b"\n")
    # The pointer moves last, so readers never see a version whose files are incomplete.
    _write_atomic(models_dir / CURRENT_FILE, f"{version}\n".encode())
    return version


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def current_version(models_dir: Path) -> str | None:
    """The active version named by ``models_dir/current``, or None when there is none."""
    try:
        text = (models_dir / CURRENT_FILE).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read {models_dir / CURRENT_FILE}: {exc}") from None
    return text or None


def load_model(models_dir: Path, version: str | None = None) -> LoadedModel:
    """Load and verify `version` (default: the current one), or raise ModelError."""
    version = version or current_version(models_dir)
    if version is None:
        raise ModelError(f"no model in {models_dir}: run `python -m training`")
    if not _VERSION_PATTERN.fullmatch(version):
        raise ModelError(f"model version {version!r} is not 12 lowercase hex digits")
    folder = models_dir / version
    card = _read_card(folder / CARD_FILE, version)
    data = _read_model_bytes(folder / MODEL_FILE, version)
    _verify_digest(data, card, version)
    pipeline = _untrusted_free_load(data, version)
    classes = _check_classes(pipeline, card, version)
    return LoadedModel(version, pipeline, card, _check_threshold(card, version), classes)


def _read_card(path: Path, version: str) -> dict[str, Any]:
    try:
        card = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"model {version}: {path} is missing: run `python -m training`") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"model {version}: {path} is not readable JSON ({exc})") from None
    if not isinstance(card, dict):
        raise ModelError(f"model {version}: {path} is not a JSON object")
    return card


def _read_model_bytes(path: Path, version: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"model {version}: {path} is missing: run `python -m training`") from None
    except OSError as exc:
        raise ModelError(f"model {version}: cannot read {path}: {exc.strerror}") from None


def _verify_digest(data: bytes, card: dict[str, Any], version: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if card.get("model_sha256") != digest or not digest.startswith(version):
        raise ModelError(
            f"model {version}: {MODEL_FILE} (sha256 {digest[:12]}) does not match its card "
            f"or version; refusing to load"
        )


def _untrusted_free_load(data: bytes, version: str) -> Pipeline:
    # Load from the bytes we hashed, not the path, so the file cannot change in between.
    try:
        found = skops.io.get_untrusted_types(data=data)
        refused = sorted(set(found) - TRUSTED_TYPES)
        if refused:
            raise ModelError(f"model {version} holds untrusted types {', '.join(refused)}; refusing to load")
        pipeline = skops.io.loads(data, trusted=found)
    except ModelError:
        raise
    except Exception as exc:  # skops raises many types on a corrupt archive
        raise ModelError(f"model {version}: {MODEL_FILE} is corrupt ({type(exc).__name__}: {exc})") from None
    if not isinstance(pipeline, Pipeline):
        raise ModelError(f"model {version}: {MODEL_FILE} holds a {type(pipeline).__name__}, not a Pipeline")
    return pipeline


def _check_classes(pipeline: Pipeline, card: dict[str, Any], version: str) -> tuple[str, ...]:
    classes = tuple(str(label) for label in getattr(pipeline, "classes_", ()))
    if NO_FAILURE not in classes:
        raise ModelError(f"model {version}: classifier has no {NO_FAILURE!r} class")
    if list(classes) != card.get("classes"):
        raise ModelError(f"model {version}: card classes {card.get('classes')} differ from the model's")
    return classes


def _check_threshold(card: dict[str, Any], version: str) -> float:
    threshold = card.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 1:
        raise ModelError(f"model {version}: card threshold {threshold!r} is not a number in (0, 1)")
    return float(threshold)
