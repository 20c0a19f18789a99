"""The models in service, one per profile: loaded on first use, swapped when their pointer moves.

The worker asks :meth:`ModelShelf.scorer_for` for the model of a reading's profile. The
first time a profile is met its current version is loaded (``var/models/current`` for the
AI4I milling machine, ``current-<profile>`` for the others, see model/artifact.py); a profile
without a model gets None and its readings are scored ``unscored``. :meth:`refresh`
(between two batches) swaps in a profile's new version when its pointer moves, and tries
again for the profiles that had none. A model is only ever served for the profile its card
names; a broken new version is logged once and the one in service stays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from contract import Profile
from inference_worker.core import Scorer
from model.artifact import current_version, load_model
from model.scoring import ModelScorer

__all__ = ["ModelShelf"]

log = logging.getLogger(__name__)

Loader = Callable[[Path, str, str], Scorer]  # (models_dir, profile id, version) -> Scorer


def _load(models_dir: Path, profile_id: str, version: str) -> Scorer:
    return ModelScorer(load_model(models_dir, version, defer_pipeline=True, profile_id=profile_id))


class ModelShelf:
    """Per profile, the Scorer in service (or None when the profile has no usable model)."""

    def __init__(self, models_dir: Path, loader: Loader = _load) -> None:
        self.models_dir = models_dir
        self._loader = loader
        self._scorers: dict[str, Scorer | None] = {}
        self._tried: dict[str, str | None] = {}  # profile -> the version last tried (loaded or not)

    def put(self, scorer: Scorer) -> None:
        """Serve `scorer` for its own profile (a model loaded at start-up)."""
        profile_id = scorer.spec.profile.id
        self._scorers[profile_id] = scorer
        self._tried[profile_id] = scorer.version

    def scorer_for(self, profile: Profile) -> Scorer | None:
        if profile.id not in self._scorers:
            self._scorers[profile.id] = None
            self._try(profile.id)
        return self._scorers[profile.id]

    def served(self) -> dict[str, str | None]:
        """Profile -> the version in service (None: no model)."""
        return {pid: scorer.version if scorer else None for pid, scorer in self._scorers.items()}

    def refresh(self) -> None:
        """Hot swap: load what moved; call it between two batches, so no reading is scored twice."""
        for profile_id in list(self._scorers):
            self._try(profile_id)

    def _try(self, profile_id: str) -> None:
        try:
            version = current_version(self.models_dir, profile_id)
        except Exception as exc:
            self._tried_failed(profile_id, None, exc)
            return
        if version is None:
            if profile_id not in self._tried:
                log.warning("no model for profile %s yet: its readings are 'unscored'", profile_id)
                self._tried[profile_id] = None
            return
        if version == self._tried.get(profile_id):
            return
        self._tried[profile_id] = version
        try:
            scorer = self._loader(self.models_dir, profile_id, version)
        except Exception as exc:  # a broken new model must not stop the one in service
            self._tried_failed(profile_id, version, exc)
            return
        self._scorers[profile_id] = scorer
        log.info("profile %s: now serving model %s (threshold %.3f)", profile_id, version, scorer.threshold)

    def _tried_failed(self, profile_id: str, version: str | None, exc: Exception) -> None:
        """One line (no traceback): a pointer that cannot be read is logged at every poll, a
        broken version once (it is tried again only when the pointer moves)."""
        serving = self._scorers.get(profile_id)
        kept = f"still serving {serving.version}" if serving else "its readings stay 'unscored'"
        what = f"model {version} not loaded" if version else "model check failed"
        log.error("profile %s: %s, %s: %s", profile_id, what, kept, exc)
