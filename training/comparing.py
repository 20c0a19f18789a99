"""Champion against challenger from a store: what ``compare`` and the API's Models view both run.

Only the history from a day before the challenger's first shadow prediction is read: the
comparison needs the readings both models scored, and the alerts and readings just before
them (an alert's episode can start earlier).
"""

from __future__ import annotations

import sqlalchemy as sa

from contract import Profile
from training.compare import Comparison, compare
from training.history import HistoryError, read_history, read_shadow, shadow_since, shadow_versions
from training.labels import StoredReading, label_history

__all__ = ["LOOKBACK_MS", "compare_in_store"]

LOOKBACK_MS = 86_400_000


def compare_in_store(
    engine: sa.Engine, profile: Profile, version: str | None, clear_after: int
) -> tuple[Comparison, list[StoredReading]]:
    """The comparison of challenger `version` (default: the latest that scored) and the readings read.

    HistoryError (one line) when there is nothing to compare.
    """
    if version is None:
        known = shadow_versions(engine, profile.id)
        if not known:
            raise HistoryError(f"profile {profile.id} has no challenger and no shadow predictions to compare")
        version = known[0]
    first = shadow_since(engine, profile.id, version)
    if first is None:
        raise HistoryError(f"challenger {version} of profile {profile.id} has scored no stored reading yet")
    history = read_history(engine, profile.id, since_ms=first - LOOKBACK_MS)
    shadow = read_shadow(engine, profile.id, version)
    labels = label_history(
        profile, history.readings, history.alerts, history.verdicts, history.maintenance, clear_after=clear_after
    )
    return compare(profile.id, history.readings, labels, shadow, version, clear_after), history.readings
