"""The models in service, one champion and at most one challenger per profile.

The worker asks :meth:`ModelShelf.scorer_for` for the champion of a reading's profile and
:meth:`ModelShelf.challenger_for` for its challenger (model/roles.py). The first time a
profile is met its versions are loaded (``var/models/current`` for the AI4I milling machine,
``current-<profile>`` for the others; ``challenger[-<profile>]`` beside them); a profile
without a champion gets None and its readings are scored ``unscored``. :meth:`refresh`
(between two batches) swaps in what a pointer moved to, and tries again for the profiles
that had none. A model is only ever served for the profile its card names.

A broken new champion is logged once and the one in service stays. A challenger that
fails to load is a clear error, logged once per version, kept in :attr:`challenger_errors`
and the profile then runs without a shadow: the champion serves as before.

The kind is the card's: a classifier is served as a ModelScorer, a RUL regressor or an
anomaly detector as a SeriesServer (inference_worker/series.py), which also refuses a model
reading fields its profile no longer has. A new version of a series model keeps the
machines' windows when its windows are the same. Challengers run for classifiers only: a
series challenger would need its own windows per machine (not done yet).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from contract import Profile
from inference_worker.core import Scorer
from inference_worker.series import SeriesServer
from model.artifact import ModelError, card_kind, load_model
from model.roles import Role, read_role
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


class _Slot:
    """The scorer of one role of one profile, and the version last tried for it."""

    __slots__ = ("scorer", "tried")

    def __init__(self) -> None:
        self.scorer: Served | None = None
        self.tried: str | None = None


class _Entry:
    """One profile on the shelf: its registry definition (as last met) and its two roles."""

    __slots__ = ("challenger", "champion", "profile")

    def __init__(self, profile: Profile | None) -> None:
        self.profile = profile  # None: served since put() at start-up, its profile not met yet
        self.champion = _Slot()
        self.challenger = _Slot()


class ModelShelf:
    """Per profile, the champion in service (or None) and its challenger (or None)."""

    def __init__(self, models_dir: Path, loader: Loader = _load) -> None:
        self.models_dir = models_dir
        self._loader = loader
        self._entries: dict[str, _Entry] = {}
        self.challenger_errors: dict[str, str] = {}  # profile -> why its challenger is not running

    def put(self, scorer: Scorer) -> None:
        """Serve `scorer` as the champion of its own profile (a model loaded at start-up)."""
        champion = self._entries.setdefault(scorer.spec.profile.id, _Entry(None)).champion
        champion.scorer, champion.tried = scorer, scorer.version

    def scorer_for(self, profile: Profile) -> Served | None:
        """The champion of `profile` (its predictions alert)."""
        entry = self._entries.get(profile.id)
        if entry is None:
            entry = self._entries[profile.id] = _Entry(profile)
            self._try(profile.id, entry)
        elif entry.profile is not profile:
            put_at_start = entry.profile is None
            entry.profile = profile  # the registry's current definition
            if put_at_start:  # now its challenger can load
                self._try(profile.id, entry)
        return entry.champion.scorer

    def challenger_for(self, profile: Profile) -> Scorer | None:
        """The challenger of `profile` (scored in shadow), None when it has none or it is the champion."""
        entry = self._entries.get(profile.id)
        if entry is None:
            return None
        challenger, champion = entry.challenger.scorer, entry.champion.scorer
        if challenger is None or isinstance(challenger, SeriesServer):  # never loaded as one (see _try_role)
            return None
        if champion is not None and champion.version == challenger.version:
            return None
        return challenger

    def served(self) -> dict[str, str | None]:
        """Profile -> the champion's version (None: no model)."""
        return {pid: e.champion.scorer.version if e.champion.scorer else None for pid, e in self._entries.items()}

    def shadowed(self) -> dict[str, str]:
        """Profile -> the challenger's version, for the profiles running one."""
        return {pid: e.challenger.scorer.version for pid, e in self._entries.items() if e.challenger.scorer}

    def refresh(self) -> None:
        """Hot swap: load what moved; call it between two batches, so no reading is scored twice."""
        for profile_id, entry in self._entries.items():
            self._try(profile_id, entry)

    def _try(self, profile_id: str, entry: _Entry) -> None:
        self._try_role(profile_id, entry, "current")
        self._try_role(profile_id, entry, "challenger")

    def _try_role(self, profile_id: str, entry: _Entry, role: Role) -> None:
        slot = entry.champion if role == "current" else entry.challenger
        try:
            version = read_role(self.models_dir, role, profile_id)
        except Exception as exc:
            self._failed(profile_id, role, None, exc)
            return
        if version is None:
            if role == "challenger":
                self._retire_challenger(profile_id, slot)
            elif slot.tried is None:
                log.warning("no model for profile %s yet: its readings are 'unscored'", profile_id)
                slot.tried = ""  # warned once; a model appearing later is still loaded
            return
        if version == slot.tried or entry.profile is None:  # None: load once its profile is met
            return
        slot.tried = version
        try:
            if role == "challenger" and card_kind(self.models_dir, profile_id, version) != "classifier":
                raise ModelError("challengers run for failure classifiers only (a series model keeps its own windows)")
            scorer = self._loader(self.models_dir, entry.profile, version)
        except Exception as exc:  # a broken new model must not stop the one in service
            self._failed(profile_id, role, version, exc)
            if role == "challenger":
                slot.scorer = None  # no shadow rather than the shadow of a version no longer named
            return
        if role == "challenger":
            slot.scorer = scorer
            self.challenger_errors.pop(profile_id, None)
            log.info("profile %s: %s now runs in shadow as challenger", profile_id, _describe(scorer))
            return
        if isinstance(scorer, SeriesServer) and isinstance(slot.scorer, SeriesServer):
            scorer.adopt(slot.scorer)  # the machines' windows carry over when they are the same
        slot.scorer = scorer
        log.info("profile %s: now serving %s", profile_id, _describe(scorer))

    def _retire_challenger(self, profile_id: str, slot: _Slot) -> None:
        if slot.scorer is not None:
            log.info("profile %s: challenger %s no longer runs in shadow", profile_id, slot.scorer.version)
        slot.scorer, slot.tried = None, None
        self.challenger_errors.pop(profile_id, None)

    def _failed(self, profile_id: str, role: Role, version: str | None, exc: Exception) -> None:
        """One line (no traceback): a pointer that cannot be read is logged at every poll, a
        broken version once (it is tried again only when the pointer moves)."""
        champion = self._entries[profile_id].champion.scorer
        kept = f"still serving {champion.version}" if champion else "its readings stay 'unscored'"
        if role == "challenger":
            what = f"challenger {version} not loaded" if version else "challenger check failed"
            self.challenger_errors[profile_id] = f"{what}: {exc}"
            log.error(
                "profile %s: %s, no shadow scoring; the champion keeps serving (%s): %s", profile_id, what, kept, exc
            )
            return
        what = f"model {version} not loaded" if version else "model check failed"
        log.error("profile %s: %s, %s: %s", profile_id, what, kept, exc)


def _describe(served: Served) -> str:
    if isinstance(served, SeriesServer):
        limit = (
            f"horizon {served.horizon:g} {served.unit}" if served.kind == "rul" else f"threshold {served.threshold:.4g}"
        )
        return f"{served.kind} model {served.version} ({limit})"
    return f"model {served.version} (threshold {served.threshold:.3f})"
