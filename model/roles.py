"""Champion and challenger: which version of a profile's model serves, shadows, or came before.

Three pointer files per profile, beside each other in ``var/models`` (model/artifact.py)::

    current[-<profile>]     # the champion: its predictions alert
    challenger[-<profile>]  # the challenger: scored on every reading too, in shadow (never alerts)
    previous[-<profile>]    # the champion before the last promotion: what a rollback returns to

(no suffix for ai4i-mill, as for ``current``). Moving a pointer is one atomic rename, and
the worker reads the pointers between two batches (inference_worker/models.py), so a
promotion or a rollback takes effect without a restart and without a reading lost or
scored twice. Every move is appended to ``pointers.log`` (JSON lines) for the record.

:func:`promote` refuses a challenger that does not load for its profile (the champion
stays); :func:`rollback` swaps ``current`` and ``previous`` (a second rollback undoes the
first).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from contract import utc_now_iso
from model.artifact import (
    LEGACY_PROFILE,
    ModelError,
    current_version,
    load_model,
    pointer_name,
    read_pointer,
    write_pointer,
)

__all__ = [
    "CHALLENGER_FILE",
    "LOG_FILE",
    "PREVIOUS_FILE",
    "Move",
    "Role",
    "clear_challenger",
    "promote",
    "read_role",
    "record_move",
    "role_pointer",
    "rollback",
    "set_challenger",
]

Role = Literal["current", "challenger", "previous"]
CHALLENGER_FILE = "challenger"
PREVIOUS_FILE = "previous"
LOG_FILE = "pointers.log"
_LOCK_FILE = ".pointers.lock"


@dataclass(frozen=True)
class Move:
    """What a promotion or rollback did: the champion before and after."""

    profile: str
    action: str
    before: str | None
    after: str

    def describe(self) -> str:
        return f"profile {self.profile}: {self.action}: champion {self.before or '(none)'} -> {self.after}"


def role_pointer(role: Role, profile_id: str | None = None) -> str:
    """The pointer file of `role` for a profile (``current``, ``challenger-fan``, ...)."""
    if role == "current":
        return pointer_name(profile_id)
    base = CHALLENGER_FILE if role == "challenger" else PREVIOUS_FILE
    return base if profile_id in (None, LEGACY_PROFILE) else f"{base}-{profile_id}"


def read_role(models_dir: Path, role: Role, profile_id: str | None = None) -> str | None:
    """The version `role` points at for a profile, or None (ModelError when unreadable)."""
    return read_pointer(models_dir / role_pointer(role, profile_id))


def set_challenger(models_dir: Path, profile_id: str, version: str) -> None:
    """Run `version` in shadow for `profile_id`; refused (ModelError) when it does not load for it."""
    load_model(models_dir, version, defer_pipeline=True, profile_id=profile_id)
    if version == current_version(models_dir, profile_id):
        raise ModelError(f"model {version} is already the champion of profile {profile_id}")
    with _locked(models_dir):
        write_pointer(models_dir / role_pointer("challenger", profile_id), version)
        record_move(models_dir, profile_id, "challenger", None, version)


def clear_challenger(models_dir: Path, profile_id: str) -> str | None:
    """Stop the shadow run of a profile; the version that ran, if any."""
    with _locked(models_dir):
        version = read_role(models_dir, "challenger", profile_id)
        (models_dir / role_pointer("challenger", profile_id)).unlink(missing_ok=True)
        if version:
            record_move(models_dir, profile_id, "challenger-cleared", version, None)
    return version


def promote(models_dir: Path, profile_id: str) -> Move:
    """The challenger becomes the champion; the champion is kept as ``previous`` for a rollback."""
    with _locked(models_dir):
        challenger = _loadable(
            models_dir, profile_id, "challenger", "has no challenger to promote", "challenger not promoted"
        )
        champion = current_version(models_dir, profile_id)
        if champion is not None:
            write_pointer(models_dir / role_pointer("previous", profile_id), champion)
        # The champion moves first: a worker reading in between scores the new champion in
        # shadow too (harmless, it only stores), never a reading without a champion.
        write_pointer(models_dir / role_pointer("current", profile_id), challenger)
        (models_dir / role_pointer("challenger", profile_id)).unlink(missing_ok=True)
        record_move(models_dir, profile_id, "promote", champion, challenger)
    return Move(profile_id, "promoted", champion, challenger)


def rollback(models_dir: Path, profile_id: str) -> Move:
    """The previous champion serves again; the one it replaces becomes ``previous`` (undo = rollback)."""
    with _locked(models_dir):
        previous = _loadable(models_dir, profile_id, "previous", "has nothing to roll back to", "not rolled back")
        champion = current_version(models_dir, profile_id)
        write_pointer(models_dir / role_pointer("current", profile_id), previous)
        if champion is not None:
            write_pointer(models_dir / role_pointer("previous", profile_id), champion)
        record_move(models_dir, profile_id, "rollback", champion, previous)
    return Move(profile_id, "rolled back", champion, previous)


def _loadable(models_dir: Path, profile_id: str, role: Role, when_none: str, when_broken: str) -> str:
    """The version `role` points at, checked to load for the profile: what a move may make champion."""
    version = read_role(models_dir, role, profile_id)
    if version is None:
        pointer = models_dir / role_pointer(role, profile_id)
        raise ModelError(f"profile {profile_id} {when_none} ({pointer} is missing)")
    try:
        load_model(models_dir, version, defer_pipeline=True, profile_id=profile_id)
    except ModelError as exc:
        raise ModelError(f"{when_broken}, the champion keeps serving: {exc}") from None
    return version


@contextlib.contextmanager
def _locked(models_dir: Path) -> Iterator[None]:
    """One pointer move at a time (two promotions at once would lose `previous`)."""
    if not models_dir.is_dir():
        raise ModelError(f"{models_dir} is not a models folder")
    with (models_dir / _LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def record_move(  # noqa: PLR0917 - one log line's fields
    models_dir: Path, profile_id: str, action: str, before: str | None, after: str | None, role: str | None = None
) -> None:
    """Append a pointer move to ``pointers.log`` (what moved, from which version to which)."""
    entry = {"at": utc_now_iso(), "profile": profile_id, "action": action, "before": before, "after": after}
    if role is not None:
        entry["role"] = role
    with (models_dir / LOG_FILE).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
