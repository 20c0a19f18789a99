"""The models in service, one per profile: loaded on first use, swapped when their pointer moves.

The worker asks :meth:`ModelShelf.scorer_for` for the model of a reading's profile. The
first time a profile is met its current version is loaded (``var/models/current`` for the
AI4I milling machine, ``current-<profile>`` for the others, see model/artifact.py); a profile
without a model gets None and its readings are scored ``unscored``. :meth:`refresh`
(between two batches) swaps in a profile's new version when its pointer moves, and tries
again for the profiles that had none. A model is only ever served for the profile its card
names; a broken new version is logged once and the one in service stays.

The kind is the card's: a classifier is served as a ModelScorer, a RUL regressor or an
anomaly detector as a SeriesServer (inference_worker/series.py), which also refuses a model
reading fields its profile no longer has. A new version of a series model keeps the
machines' windows when its windows are the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from contract import Profile
from inference_worker.core import Scorer
from inference_worker.series import SeriesServer
from model.artifact import card_kind, current_version, load_model
from model.scoring import ModelScorer
from model.series_artifact import load_series_model

__all__ = ["ModelShelf"]

log = logging.getLogger(__name__)

Served = Scorer | SeriesServer
Loader = Callable[[Path, Profile, str], Served]  # (models_dir, profile, version) -> its model in service


def _load(models_dir: Path, profile: Profile, version: str) -> Served:
    if card_kind(models_dir, profile.id, version) != "classifier":
        return SeriesServer.from_model(load_series_model(models_dir, profile.id, version), profile)
    return ModelScorer(load_model(models_dir, version, defer_pipeline=True, profile_id=profile.id))


class ModelShelf:
    """Per profile, the Scorer in service (or None when the profile has no usable model)."""

    def __init__(self, models_dir: Path, loader: Loader = _load) -> None:
        self.models_dir = models_dir
        self._loader = loader
        self._scorers: dict[str, Served | None] = {}
        self._profiles: dict[str, Profile] = {}
        self._tried: dict[str, str | None] = {}  # profile -> the version last tried (loaded or not)

    def put(self, scorer: Scorer) -> None:
        """Serve `scorer` for its own profile (a model loaded at start-up)."""
        profile_id = scorer.spec.profile.id
        self._scorers[profile_id] = scorer
        self._tried[profile_id] = scorer.version

    def scorer_for(self, profile: Profile) -> Served | None:
        known = self._profiles.get(profile.id)
        if known is not profile:
            self._profiles[profile.id] = profile  # the registry's current definition
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
        profile = self._profiles.get(profile_id)
        if profile is None:  # served since put() at start-up, its profile not met yet: load later
            return
        self._tried[profile_id] = version
        try:
            scorer = self._loader(self.models_dir, profile, version)
        except Exception as exc:  # a broken new model must not stop the one in service
            self._tried_failed(profile_id, version, exc)
            return
        previous = self._scorers.get(profile_id)
        if isinstance(scorer, SeriesServer) and isinstance(previous, SeriesServer):
            scorer.adopt(previous)
        self._scorers[profile_id] = scorer
        log.info("profile %s: now serving %s", profile_id, _describe(scorer))

    def _tried_failed(self, profile_id: str, version: str | None, exc: Exception) -> None:
        """One line (no traceback): a pointer that cannot be read is logged at every poll, a
        broken version once (it is tried again only when the pointer moves)."""
        serving = self._scorers.get(profile_id)
        kept = f"still serving {serving.version}" if serving else "its readings stay 'unscored'"
        what = f"model {version} not loaded" if version else "model check failed"
        log.error("profile %s: %s, %s: %s", profile_id, what, kept, exc)


def _describe(served: Served) -> str:
    if isinstance(served, SeriesServer):
        limit = (
            f"horizon {served.horizon:g} {served.unit}" if served.kind == "rul" else f"threshold {served.threshold:.4g}"
        )
        return f"{served.kind} model {served.version} ({limit})"
    return f"model {served.version} (threshold {served.threshold:.3f})"
