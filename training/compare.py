"""Champion against challenger on the same readings (``python -m training compare``); no I/O here.

Both models scored every reading the challenger saw in shadow: the champion's predictions
are in ``predictions``, the challenger's in ``shadow_predictions``. On those common readings,
for each model:

* precision and recall on the labelled readings (training/labels.py: reported failures and
  verdicts on alerts; assumed-normal readings are not counted here), a reading being flagged
  when the model's probability reached its threshold;
* alerts per machine-day: an alert opens on a flagged reading and clears after `clear_after`
  unflagged ones (the worker's rule), over the machines' spans of time;
* agreement: the share of readings both flag or both pass, and who flagged alone;
* latency: each model's scoring time per reading, measured here on the same readings
  (training/__main__.py times them; the worker scores both in the same batch).

:func:`decide` is the automatic promotion rule: only when configured, only with enough labels,
only when the challenger's F1 beats the champion's by the margin.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from training.history import ShadowRow
from training.labels import Labels, StoredReading

__all__ = ["Comparison", "Decision", "ModelFigures", "compare", "decide", "format_comparison"]

DAY_MS = 86_400_000


@dataclass
class ModelFigures:
    version: str
    labelled: int = 0
    failures: int = 0
    true_positives: int = 0
    false_positives: int = 0
    flagged: int = 0
    alerts: int = 0
    alerts_per_machine_day: float = 0.0
    ms_per_reading: float | None = None

    @property
    def precision(self) -> float | None:
        flagged = self.true_positives + self.false_positives
        return round(self.true_positives / flagged, 4) if flagged else None

    @property
    def recall(self) -> float | None:
        return round(self.true_positives / self.failures, 4) if self.failures else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return round(2 * p * r / (p + r), 4) if p is not None and r is not None and p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass
class Comparison:
    profile: str
    readings: int  # scored by both
    machines: int
    machine_days: float
    champion: ModelFigures
    challenger: ModelFigures
    agreement: float | None
    champion_only: int
    challenger_only: int
    label_sources: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "readings": self.readings,
            "machines": self.machines,
            "machine_days": round(self.machine_days, 4),
            "champion": self.champion.as_dict(),
            "challenger": self.challenger.as_dict(),
            "agreement": self.agreement,
            "champion_only": self.champion_only,
            "challenger_only": self.challenger_only,
            "label_sources": self.label_sources,
        }


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


Key = tuple[str, str]


def compare(  # noqa: PLR0917 - the history, its labels and the challenger's record
    profile: str,
    readings: Sequence[StoredReading],
    labels: Labels,
    shadow: Sequence[ShadowRow],
    challenger_version: str,
    clear_after: int = 3,
) -> Comparison:
    """Figures of the champion (the stored predictions) and the challenger on the readings both scored."""
    shadow_by_key = {(row.machine_id, row.reading_id): row for row in shadow}
    champion_rows = {
        (reading.machine_id, reading.reading_id): reading
        for reading in readings
        if (reading.machine_id, reading.reading_id) in shadow_by_key
    }
    truth = {
        (row.reading.machine_id, row.reading.reading_id): row.failure
        for row in labels.rows
        if row.source != "assumed_normal"
    }
    common = sorted(champion_rows, key=lambda key: (champion_rows[key].ts_ms, key))
    champion_flags = {key: _flagged(champion_rows[key]) for key in common}
    challenger_flags = {key: _flagged(shadow_by_key[key]) for key in common}
    times = {key: champion_rows[key].ts_ms for key in common}
    machine_days = _machine_days(times)
    champion_versions = Counter(champion_rows[key].model_version or "-" for key in common)
    champion = _figures(champion_versions.most_common(1)[0][0] if common else "-", champion_flags, truth)
    challenger = _figures(challenger_version, challenger_flags, truth)
    for figures, flags in ((champion, champion_flags), (challenger, challenger_flags)):
        figures.alerts = _alerts(common, flags, clear_after)
        figures.alerts_per_machine_day = round(figures.alerts / machine_days, 3) if machine_days else 0.0
    same = sum(champion_flags[key] == challenger_flags[key] for key in common)
    sources = Counter(
        row.source for row in labels.rows if (row.reading.machine_id, row.reading.reading_id) in shadow_by_key
    )
    return Comparison(
        profile=profile,
        readings=len(common),
        machines=len({key[0] for key in common}),
        machine_days=machine_days,
        champion=champion,
        challenger=challenger,
        agreement=round(same / len(common), 4) if common else None,
        champion_only=sum(champion_flags[k] and not challenger_flags[k] for k in common),
        challenger_only=sum(challenger_flags[k] and not champion_flags[k] for k in common),
        label_sources=dict(sorted(sources.items())),
    )


def _flagged(prediction: StoredReading | ShadowRow) -> bool:
    """Whether a model flags the reading: its probability reached its threshold (also on a
    reading that reported a failure, whose status says "failure" whatever the model said)."""
    probability, threshold = prediction.failure_probability, prediction.threshold
    if probability is None or threshold is None:
        return prediction.status == "predictive"
    return probability >= threshold


def _figures(version: str, flags: dict[Key, bool], truth: dict[Key, int]) -> ModelFigures:
    figures = ModelFigures(version)
    for key, flagged in flags.items():
        figures.flagged += flagged
        label = truth.get(key)
        if label is None:
            continue
        figures.labelled += 1
        figures.failures += label
        figures.true_positives += flagged and label == 1
        figures.false_positives += flagged and label == 0
    return figures


def _alerts(ordered: Iterable[Key], flags: dict[Key, bool], clear_after: int) -> int:
    """Alerts the worker's rule would open: on a flagged reading, cleared after `clear_after` calm ones."""
    open_since: dict[str, int] = {}  # machine -> calm readings since its alert's last flag
    opened = 0
    for key in ordered:
        machine = key[0]
        if flags[key]:
            if machine not in open_since:
                opened += 1
            open_since[machine] = 0
        elif machine in open_since:
            open_since[machine] += 1
            if open_since[machine] >= clear_after:
                del open_since[machine]
    return opened


def _machine_days(times: dict[Key, int]) -> float:
    spans: dict[str, tuple[int, int]] = {}
    for (machine, _), ts in times.items():
        low, high = spans.get(machine, (ts, ts))
        spans[machine] = (min(low, ts), max(high, ts))
    return sum(high - low for low, high in spans.values()) / DAY_MS


def decide(comparison: Comparison, *, enabled: bool, margin: float, min_labels: int) -> Decision:
    """The automatic promotion rule (off unless `enabled`)."""
    if not enabled:
        return Decision(False, "automatic promotion is off (FOREWARN_AUTO_PROMOTE)")
    labelled = comparison.challenger.labelled
    if labelled < min_labels:
        return Decision(False, f"only {labelled} labelled readings, {min_labels} needed")
    if comparison.challenger.failures == 0:
        return Decision(False, "no failure among the labelled readings")
    champion, challenger = comparison.champion.f1 or 0.0, comparison.challenger.f1 or 0.0
    if challenger - champion < margin:
        return Decision(
            False, f"challenger F1 {challenger:.3f} does not beat the champion's {champion:.3f} by {margin}"
        )
    return Decision(True, f"challenger F1 {challenger:.3f} beats the champion's {champion:.3f} by {margin} or more")


def format_comparison(comparison: Comparison) -> str:
    """The comparison as a small text table."""
    champion, challenger = comparison.champion, comparison.challenger

    def row(name: str, value: Callable[[ModelFigures], object]) -> str:
        return f"  {name:<24}{_text(value(champion)):>16}{_text(value(challenger)):>16}"

    lines = [
        f"profile {comparison.profile}: {comparison.readings} readings scored by both, "
        f"{comparison.machines} machines, {comparison.machine_days:.2f} machine-days",
        f"  {'':<24}{'champion':>16}{'challenger':>16}",
        row("model", lambda f: f.version),
        row("labelled readings", lambda f: f.labelled),
        row("of which failures", lambda f: f.failures),
        row("precision", lambda f: f.precision),
        row("recall", lambda f: f.recall),
        row("F1", lambda f: f.f1),
        row("flagged readings", lambda f: f.flagged),
        row("alerts", lambda f: f.alerts),
        row("alerts per machine-day", lambda f: f.alerts_per_machine_day),
        row("ms per reading", lambda f: f.ms_per_reading),
        f"  agreement {_text(comparison.agreement)} (champion alone {comparison.champion_only}, "
        f"challenger alone {comparison.challenger_only})",
        "  labels: " + (", ".join(f"{k} {v}" for k, v in comparison.label_sources.items()) or "none"),
    ]
    return "\n".join(lines)


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
