"""Labels for the plant's own history: which stored readings were failures, and who said so (no I/O).

A reading gets at most one label, from the first of these sources that speaks about it:

1. ``reported_failure``: the reading itself reports a failure (``failure`` = 1); its mode is
   the one its description names (or the verdict's, or ``UNK``).
2. ``verdict:real_failure`` / ``verdict:false_alarm``: an operator's verdict on an alert
   (the latest one counts) labels the alert's own reading and every reading the champion
   flagged on that machine while the alert stayed open (until `clear_after` calm readings,
   the worker's rule): positive with the verdict's mode (or
   the alert's predicted mode), or negative. ``verdict:planned_maintenance`` leaves those
   readings out (planned work says nothing about failures); ``unsure`` says nothing.
3. ``reported_no_failure``: the reading reports ``failure`` = 0.
4. ``assumed_normal``: any other reading, unless it lies within `guard` readings before a
   failure label of its machine, or in the `maintenance_window_ms` before a maintenance
   action that fixed something (``repaired``, ``tool_replaced``): those are left out
   (``excluded:before_failure``, ``excluded:before_maintenance``), because a failure that
   nobody reported may hide there.

The counts per source go on the model card (training/from_history.py), so every label's
origin is on record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contract import Profile

__all__ = [
    "FIXING_ACTIONS",
    "LabelledReading",
    "Labels",
    "StoredAlert",
    "StoredMaintenance",
    "StoredReading",
    "StoredVerdict",
    "label_history",
    "latest_verdicts",
    "mode_of_description",
]

UNSPECIFIED = "UNK"
FIXING_ACTIONS = frozenset({"repaired", "tool_replaced"})
_FLAGGED = frozenset({"predictive", "failure"})


@dataclass(frozen=True, slots=True)
class StoredReading:
    """One stored (champion) prediction: the reading's values and what the reading reported."""

    machine_id: str
    reading_id: str
    ts_ms: int
    values: Mapping[str, Any]
    failure: int | None
    failure_description: str | None
    status: str
    model_version: str | None = None
    failure_probability: float | None = None
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class StoredAlert:
    alert_id: str
    machine_id: str
    kind: str
    opened_at_ms: int
    cleared_at_ms: int | None
    reading_id: str
    predicted_mode: str | None


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    alert_id: str
    verdict: str  # real_failure | false_alarm | planned_maintenance | unsure
    mode: str | None
    at_ms: int


@dataclass(frozen=True, slots=True)
class StoredMaintenance:
    machine_id: str
    action: str  # tool_replaced | repaired | inspected | other
    at_ms: int


@dataclass(frozen=True, slots=True)
class LabelledReading:
    reading: StoredReading
    failure: int  # 1: failed, 0: did not
    mode: str  # "none" for 0, else a mode code (or UNK)
    source: str


@dataclass
class Labels:
    """The labelled readings in time order, and how many readings each source labelled or left out."""

    rows: list[LabelledReading] = field(default_factory=list)
    sources: Counter[str] = field(default_factory=Counter)  # "source" -> readings labelled by it
    positives: Counter[str] = field(default_factory=Counter)  # "source" -> of which failures
    excluded: Counter[str] = field(default_factory=Counter)  # why readings were left out

    def informative(self) -> int:
        """Labels that come from someone or something saying so (not assumed)."""
        return sum(count for source, count in self.sources.items() if source != "assumed_normal")


def mode_of_description(profile: Profile, text: str | None) -> str | None:
    """The mode code a failure description names first (by name or code), None when it names none."""
    if not text:
        return None
    names = {m.name: m.code for m in profile.failure_modes} | {m.code: m.code for m in profile.failure_modes}
    for part in text.split(";"):
        code = names.get(part.strip())
        if code is not None:
            return code
    return None


def _known_mode(profile: Profile, mode: str | None) -> str | None:
    return mode if mode in profile.mode_codes else mode_of_description(profile, mode)


def latest_verdicts(verdicts: Sequence[StoredVerdict]) -> dict[str, StoredVerdict]:
    """Per alert, the verdict given last (a verdict can be changed; the latest one counts)."""
    latest: dict[str, StoredVerdict] = {}
    for verdict in sorted(verdicts, key=lambda v: v.at_ms):
        latest[verdict.alert_id] = verdict
    return latest


def label_history(  # noqa: PLR0917 - the four stored sources and the rules' sizes
    profile: Profile,
    readings: Sequence[StoredReading],
    alerts: Sequence[StoredAlert],
    verdicts: Sequence[StoredVerdict],
    maintenance: Sequence[StoredMaintenance],
    guard: int = 3,
    maintenance_window_ms: int = 3_600_000,
    clear_after: int = 5,
) -> Labels:
    """Label `readings` (one profile's, any order) from themselves, verdicts and the maintenance log."""
    ordered = sorted(readings, key=lambda r: (r.ts_ms, r.machine_id, r.reading_id))
    from_verdicts = _verdict_labels(profile, ordered, alerts, latest_verdicts(verdicts), clear_after)
    chosen: dict[tuple[str, str], tuple[int, str, str]] = {}
    left_out: dict[tuple[str, str], str] = {}
    for reading in ordered:
        key = (reading.machine_id, reading.reading_id)
        verdict = from_verdicts.get(key)
        if reading.failure == 1:
            verdict_mode = verdict[1] if verdict is not None else None
            mode = mode_of_description(profile, reading.failure_description) or verdict_mode or _only_mode(profile)
            chosen[key] = (1, mode, "reported_failure")
        elif verdict is not None:
            label, said_mode, source = verdict
            if label is None:
                left_out[key] = source
            else:
                chosen[key] = (label, said_mode or "none", source)
        elif reading.failure == 0:
            chosen[key] = (0, "none", "reported_no_failure")
    held_out = _held_out(ordered, chosen, maintenance, guard, maintenance_window_ms)
    labels = Labels()
    for reading in ordered:
        key = (reading.machine_id, reading.reading_id)
        found = chosen.get(key)
        if found is None:
            why = left_out.get(key) or held_out.get(key)
            if why is not None:
                labels.excluded[why] += 1
                continue
            found = (0, "none", "assumed_normal")
        failure, mode, source = found
        labels.rows.append(LabelledReading(reading, failure, mode, source))
        labels.sources[source] += 1
        labels.positives[source] += failure
    return labels


def _only_mode(profile: Profile) -> str:
    modes = [m.code for m in profile.failure_modes if not m.random]
    return modes[0] if len(modes) == 1 else UNSPECIFIED


def _episode(rows: Sequence[StoredReading], reading_id: str, clear_after: int) -> list[StoredReading]:
    """An alert's readings: its own, then those flagged until `clear_after` calm ones (the worker's rule).

    Walked in reading order rather than by the alert's clock times: an alert is stamped when
    it was scored, a reading when it was taken, and the two clocks need not agree.
    """
    start = next((i for i, row in enumerate(rows) if row.reading_id == reading_id), None)
    if start is None:
        return []  # its reading is no longer stored
    episode, calm = [rows[start]], 0
    for row in rows[start + 1 :]:
        if row.status in _FLAGGED:
            episode.append(row)
            calm = 0
        else:
            calm += 1
            if calm >= clear_after:
                break
    return episode


def _verdict_labels(
    profile: Profile,
    ordered: Sequence[StoredReading],
    alerts: Sequence[StoredAlert],
    verdicts: Mapping[str, StoredVerdict],
    clear_after: int,
) -> dict[tuple[str, str], tuple[int | None, str | None, str]]:
    """(machine, reading) -> (label or None to leave out, mode, source) from the verdicts on alerts."""
    by_machine: dict[str, list[StoredReading]] = {}
    for reading in ordered:
        by_machine.setdefault(reading.machine_id, []).append(reading)
    found: dict[tuple[str, str], tuple[int | None, str | None, str]] = {}
    for alert in alerts:
        verdict = verdicts.get(alert.alert_id)
        if verdict is None or verdict.verdict == "unsure":
            continue
        source = f"verdict:{verdict.verdict}"
        if verdict.verdict == "real_failure":
            mode = (
                _known_mode(profile, verdict.mode) or _known_mode(profile, alert.predicted_mode) or _only_mode(profile)
            )
            label: tuple[int | None, str | None, str] = (1, mode, source)
        elif verdict.verdict == "false_alarm":
            label = (0, "none", source)
        else:  # planned maintenance: says nothing about failures
            label = (None, None, source)
        for reading in _episode(by_machine.get(alert.machine_id, []), alert.reading_id, clear_after):
            found[(reading.machine_id, reading.reading_id)] = label
    return found


def _held_out(
    ordered: Sequence[StoredReading],
    chosen: Mapping[tuple[str, str], tuple[int, str, str]],
    maintenance: Sequence[StoredMaintenance],
    guard: int,
    window_ms: int,
) -> dict[tuple[str, str], str]:
    """Unlabelled readings not to assume normal: just before a failure or a repair of their machine."""
    held: dict[tuple[str, str], str] = {}
    by_machine: dict[str, list[StoredReading]] = {}
    for reading in ordered:
        by_machine.setdefault(reading.machine_id, []).append(reading)
    fixes: dict[str, list[int]] = {}
    for entry in maintenance:
        if entry.action in FIXING_ACTIONS:
            fixes.setdefault(entry.machine_id, []).append(entry.at_ms)
    for machine, rows in by_machine.items():
        for index, reading in enumerate(rows):
            label = chosen.get((machine, reading.reading_id))
            if label is not None and label[0] == 1:
                for earlier in rows[max(0, index - guard) : index]:
                    held.setdefault((machine, earlier.reading_id), "excluded:before_failure")
        for at_ms in fixes.get(machine, ()):
            for reading in rows:
                if at_ms - window_ms <= reading.ts_ms < at_ms:
                    held.setdefault((machine, reading.reading_id), "excluded:before_maintenance")
    return held
