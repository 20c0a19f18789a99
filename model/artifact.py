"""Saving and loading model versions under ``var/models``.

Layout (old versions stay, so a rollback is rewriting a pointer)::

    models/current                  # text: the active version of the ai4i-mill profile, e.g. "3f2a9c1b7d04"
    models/current-<profile>        # the active version of any other profile, e.g. current-fan
    models/3f2a9c1b7d04/model.skops # the fitted Pipeline, skops format
    models/3f2a9c1b7d04/model.onnx  # optional: its scaler + forest for onnxruntime
    models/3f2a9c1b7d04/card.json   # profile, metrics, threshold, data and library versions

Each card names the profile (id, version and definition) the model was trained for; a card
without one is from before profiles and is an ai4i-mill model, so the layout of older
installations is read unchanged. Loading for a profile refuses a model of another one.

The version is the first 12 hex digits of the model file's sha256. Loading checks the
file against the card and refuses any type outside :data:`TRUSTED_TYPES`, because
loading a model is running code: skops only rebuilds types we allow. ``model.onnx``
(see model/onnx_export.py) is checked against the sha256 its card records.

scikit-learn and skops are imported only when a pipeline is built: importing them costs
about 140 MB and 1-3 s, which a worker serving the ONNX export never needs to pay
(``load_model(..., defer_pipeline=True)``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract.profiles import DEFAULT_PROFILE

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

__all__ = [
    "CARD_FILE",
    "CURRENT_FILE",
    "MODEL_FILE",
    "NO_FAILURE",
    "ONNX_FILE",
    "TRUSTED_TYPES",
    "LoadedModel",
    "ModelError",
    "card_kind",
    "current_version",
    "kind_of_card",
    "load_model",
    "pointer_name",
    "profile_of_card",
    "read_card",
    "read_pointer",
    "save_model",
    "write_atomic",
    "write_pointer",
]

MODEL_FILE = "model.skops"
ONNX_FILE = "model.onnx"
EXPLAINER_FILE = "explainer.npz"  # decision-path arrays (model/explain.py), numpy only
CARD_FILE = "card.json"
CURRENT_FILE = "current"
NO_FAILURE = "none"  # the classifier's label for "no failure"
# Types skops does not trust by default that our Pipeline needs; anything else is refused.
# (skops already trusts the scikit-learn estimators and numpy types it knows.)
TRUSTED_TYPES: frozenset[str] = frozenset({"model.features.FeatureBuilder", "sklearn.tree._tree.Tree"})
_VERSION_PATTERN = re.compile(r"^[0-9a-f]{12}$")
LEGACY_PROFILE = DEFAULT_PROFILE  # models and pointers from before profiles are ai4i-mill's


def pointer_name(profile_id: str | None = None) -> str:
    """The file naming the active version of a profile's model."""
    return CURRENT_FILE if profile_id in (None, LEGACY_PROFILE) else f"{CURRENT_FILE}-{profile_id}"


def profile_of_card(card: dict[str, Any]) -> str:
    """The profile a model was trained for (cards from before profiles: ai4i-mill)."""
    entry = card.get("profile")
    return str(entry["id"]) if isinstance(entry, dict) and "id" in entry else LEGACY_PROFILE


def kind_of_card(card: dict[str, Any]) -> str:
    """The model kind a card describes: classifier (cards before issue 16 have no kind), rul or anomaly."""
    return str(card.get("kind") or "classifier")


def card_kind(models_dir: Path, profile_id: str | None = None, version: str | None = None) -> str:
    """The kind of `version` (default: the current model of `profile_id`); ModelError when there is none.

    A `version` trained for another profile than `profile_id` is refused, naming both.
    """
    version = version or current_version(models_dir, profile_id)
    if version is None:
        suffix = f" --profile {profile_id}" if profile_id not in (None, LEGACY_PROFILE) else ""
        raise ModelError(
            f"no model for profile {profile_id or LEGACY_PROFILE} in {models_dir}: run `python -m training{suffix}`"
        )
    return kind_of_card(read_card(models_dir, version, profile_id or LEGACY_PROFILE))


def read_card(models_dir: Path, version: str, profile_id: str | None = None) -> dict[str, Any]:
    """The card of `version`, or ModelError: a malformed version, an unreadable card, or (with
    `profile_id`) a model trained for another profile, naming both."""
    if not _VERSION_PATTERN.fullmatch(version):
        raise ModelError(f"model version {version!r} is not 12 lowercase hex digits")
    card = _read_card(models_dir / version / CARD_FILE, version)
    trained_for = profile_of_card(card)
    if profile_id is not None and trained_for != profile_id:
        raise ModelError(f"model {version} is for profile {trained_for!r}, not {profile_id!r}; refusing to serve it")
    return card


class ModelError(Exception):
    """A model that is missing, corrupt or untrusted; the message is one line."""


class LoadedModel:
    """A verified model version ready for scoring.

    ``pipeline`` is the scikit-learn source of truth; ``onnx`` its serving export, if any.
    A pipeline given as ``load_pipeline`` is built on first use (its file was verified).
    """

    def __init__(  # noqa: PLR0917 - the historical positional order of the dataclass
        self,
        version: str,
        pipeline: Pipeline | None,
        card: dict[str, Any],
        threshold: float,
        classes: tuple[str, ...],
        onnx: bytes | None = None,
        load_pipeline: Callable[[], Pipeline] | None = None,
    ) -> None:
        if pipeline is None and load_pipeline is None:
            raise ValueError("LoadedModel needs a pipeline or a way to load it")
        self.version = version
        self.card = card
        self.threshold = threshold
        self.classes = classes
        self.onnx = onnx
        self._pipeline = pipeline
        self._load_pipeline = load_pipeline
        self._lock = threading.Lock()

    @property
    def pipeline(self) -> Pipeline:
        """The fitted Pipeline, built now if it was deferred (raises ModelError)."""
        with self._lock:
            if self._pipeline is None:
                assert self._load_pipeline is not None
                self._pipeline = self._load_pipeline()
            return self._pipeline

    @property
    def pipeline_loaded(self) -> bool:
        return self._pipeline is not None

    @property
    def profile_id(self) -> str:
        return profile_of_card(self.card)

    def __repr__(self) -> str:
        return f"LoadedModel(version={self.version!r}, threshold={self.threshold}, onnx={self.onnx is not None})"


def save_model(
    pipeline: Pipeline,
    card: dict[str, Any],
    models_dir: Path,
    onnx: bytes | None = None,
    explainer: bytes | None = None,
    *,
    pointer: str | None = None,
) -> str:
    """Write a new version (model file, ONNX export if any, card), point its profile's pointer at it.

    `pointer` names another pointer file to move instead (model/roles.py: a challenger).
    """
    import skops.io

    data = skops.io.dumps(pipeline, compression=zipfile.ZIP_DEFLATED)
    digest = hashlib.sha256(data).hexdigest()
    version = digest[:12]
    folder = models_dir / version
    folder.mkdir(parents=True, exist_ok=True)
    full_card = {**card, "version": version, "model_sha256": digest, "model_bytes": len(data)}
    write_atomic(folder / MODEL_FILE, data)
    if onnx is not None:
        full_card["onnx"] = {
            **card.get("onnx", {}),
            "file": ONNX_FILE,
            "sha256": hashlib.sha256(onnx).hexdigest(),
            "bytes": len(onnx),
        }
        write_atomic(folder / ONNX_FILE, onnx)
    if explainer is not None:
        full_card["explainer"] = {"file": EXPLAINER_FILE, "sha256": hashlib.sha256(explainer).hexdigest()}
        write_atomic(folder / EXPLAINER_FILE, explainer)
    write_atomic(folder / CARD_FILE, json.dumps(full_card, indent=2).encode() + b"\n")
    # The pointer moves last, so readers never see a version whose files are incomplete.
    write_pointer(models_dir / (pointer or pointer_name(profile_of_card(card))), version)
    return version


def write_pointer(path: Path, version: str) -> None:
    """Point the pointer file `path` at `version`, atomically (readers see the old or the new one)."""
    write_atomic(path, f"{version}\n".encode())


def write_atomic(path: Path, data: bytes) -> None:
    """Write `path` so that readers see the old content or the new one, never a part."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def current_version(models_dir: Path, profile_id: str | None = None) -> str | None:
    """The active version of a profile's model (default: ai4i-mill's ``current``), or None."""
    return read_pointer(models_dir / pointer_name(profile_id))


def read_pointer(pointer: Path) -> str | None:
    """The version a pointer file names, or None when there is none (ModelError when unreadable)."""
    try:
        text = pointer.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read {pointer}: {exc}") from None
    return text or None


def load_model(
    models_dir: Path, version: str | None = None, defer_pipeline: bool = False, profile_id: str | None = None
) -> LoadedModel:
    """Load and verify `version` (default: the current one of `profile_id`), or raise ModelError.

    With `profile_id`, a model trained for another profile is refused. With `defer_pipeline`
    and an ONNX export, every file is verified against the card now but the scikit-learn
    pipeline is only built when first asked for (see module doc).
    """
    version = version or current_version(models_dir, profile_id)
    if version is None:
        suffix = f" --profile {profile_id}" if profile_id not in (None, LEGACY_PROFILE) else ""
        raise ModelError(f"no model in {models_dir}: run `python -m training{suffix}`")
    card = read_card(models_dir, version, profile_id)
    folder = models_dir / version
    data = _read_model_bytes(folder / MODEL_FILE, version)
    _verify_digest(data, card, version)
    onnx = _read_onnx(folder, card, version)

    def build() -> Pipeline:
        pipeline = _untrusted_free_load(data, version)
        _check_classes(pipeline, card, version)
        return pipeline

    if defer_pipeline and onnx is not None:
        classes = _card_classes(card, version)
        return LoadedModel(version, None, card, _check_threshold(card, version), classes, onnx, load_pipeline=build)
    pipeline = build()
    classes = _check_classes(pipeline, card, version)
    return LoadedModel(version, pipeline, card, _check_threshold(card, version), classes, onnx)


def _read_onnx(folder: Path, card: dict[str, Any], version: str) -> bytes | None:
    """The ONNX export the card lists, checked against its sha256; None when it lists none."""
    entry = card.get("onnx")
    if entry is None:
        return None
    path = folder / ONNX_FILE
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"model {version}: cannot read {path} that its card lists: {exc.strerror}") from None
    if not isinstance(entry, dict) or entry.get("sha256") != hashlib.sha256(data).hexdigest():
        raise ModelError(f"model {version}: {ONNX_FILE} does not match its card; refusing to load")
    return data


def _card_classes(card: dict[str, Any], version: str) -> tuple[str, ...]:
    classes = card.get("classes")
    if not isinstance(classes, list) or NO_FAILURE not in classes or not all(isinstance(c, str) for c in classes):
        raise ModelError(f"model {version}: card classes {classes!r} lack the {NO_FAILURE!r} class")
    return tuple(classes)


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
            f"model {version}: {MODEL_FILE} (sha256 {digest[:12]}) does not match its card or version; refusing to load"
        )


# CPython 3.11 keeps the AST builder's recursion counter per interpreter, not per thread: numpy
# reads each array's header with ast.literal_eval, and another thread parsing at that moment (3.11
# formats every traceback's carets with ast.parse) makes it fail with this SystemError (gh-106905;
# seen once in CI). The bytes are the ones verified, so a retry reads the same model.
_AST_RACE = "AST constructor recursion depth mismatch"
_LOAD_ATTEMPTS = 3


def _untrusted_free_load(data: bytes, version: str) -> Pipeline:
    import skops.io
    from sklearn.pipeline import Pipeline

    # Load from the bytes we hashed, not the path, so the file cannot change in between.
    for attempt in range(1, _LOAD_ATTEMPTS + 1):
        try:
            found = skops.io.get_untrusted_types(data=data)
            refused = sorted(set(found) - TRUSTED_TYPES)
            if refused:
                raise ModelError(f"model {version} holds untrusted types {', '.join(refused)}; refusing to load")
            pipeline = skops.io.loads(data, trusted=found)
            break
        except ModelError:
            raise
        except SystemError as exc:
            if _AST_RACE not in str(exc) or attempt == _LOAD_ATTEMPTS:
                raise ModelError(f"model {version}: {MODEL_FILE} is corrupt ({type(exc).__name__}: {exc})") from None
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
