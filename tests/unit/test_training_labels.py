"""Labels from the plant's history: every label has a source, and precedence is fixed."""

from __future__ import annotations

from contract import default_profile
from training.compare import compare, decide
from training.history import ShadowRow
from training.labels import (
    StoredAlert,
    StoredMaintenance,
    StoredReading,
    StoredVerdict,
    label_history,
    latest_verdicts,
)

PROFILE = default_profile()
MINUTE = 60_000


def _reading(
    n: int, machine: str = "m1", failure: int | None = None, status: str = "normal", **kw: object
) -> StoredReading:
    description = kw.pop("failure_description", None)
    probability = kw.pop("probability", 0.9 if status == "predictive" else 0.1)
    return StoredReading(
        machine, f"r-{n}", n * MINUTE, {"torque_nm": 40.0}, failure, description, status,  # type: ignore[arg-type]
        "aaaaaaaaaaaa", probability, 0.5,  # type: ignore[arg-type]
    )  # fmt: skip


def _alert(alert_id: str, reading: int, opened: int, cleared: int | None, mode: str | None = "OSF") -> StoredAlert:
    return StoredAlert(
        alert_id,
        "m1",
        "predicted",
        opened * MINUTE,
        None if cleared is None else cleared * MINUTE,
        f"r-{reading}",
        mode,
    )


def test_each_reading_is_labelled_by_its_first_source_and_counted() -> None:
    readings = [
        _reading(1, failure=1, failure_description="Power Failure"),
        _reading(2, failure=0),
        _reading(3, status="predictive"),  # alert a1 opens here: real failure
        _reading(4, status="predictive"),  # still flagged while a1 is open
        _reading(5),  # calm while a1 is open: not the verdict's
        _reading(20, status="predictive"),  # alert a2: false alarm
        _reading(30),
    ]
    alerts = [_alert("a1", 3, 3, 6), _alert("a2", 20, 20, 22)]
    verdicts = [
        StoredVerdict("a1", "real_failure", "HDF", 7 * MINUTE),
        StoredVerdict("a2", "false_alarm", None, 23 * MINUTE),
    ]
    labels = label_history(PROFILE, readings, alerts, verdicts, [], guard=0, clear_after=1)
    by_id = {row.reading.reading_id: (row.failure, row.mode, row.source) for row in labels.rows}
    assert by_id == {
        "r-1": (1, "PWF", "reported_failure"),
        "r-2": (0, "none", "reported_no_failure"),
        "r-3": (1, "HDF", "verdict:real_failure"),
        "r-4": (1, "HDF", "verdict:real_failure"),
        "r-5": (0, "none", "assumed_normal"),
        "r-20": (0, "none", "verdict:false_alarm"),
        "r-30": (0, "none", "assumed_normal"),
    }
    assert labels.sources["verdict:real_failure"] == 2
    assert labels.positives == {"reported_failure": 1, "verdict:real_failure": 2, "reported_no_failure": 0,
                                "verdict:false_alarm": 0, "assumed_normal": 0}  # fmt: skip
    assert labels.informative() == 5


def test_the_latest_verdict_counts_and_planned_maintenance_or_unsure_give_no_label() -> None:
    changed = [StoredVerdict("a1", "false_alarm", None, 10), StoredVerdict("a1", "real_failure", "TWF", 20)]
    assert latest_verdicts(list(reversed(changed)))["a1"].verdict == "real_failure"
    readings = [_reading(3, status="predictive"), _reading(5), _reading(10, status="predictive")]
    alerts = [_alert("a1", 3, 3, 4), _alert("a2", 10, 10, 11)]
    planned = [StoredVerdict("a1", "planned_maintenance", None, 1), StoredVerdict("a2", "unsure", None, 1)]
    labels = label_history(PROFILE, readings, alerts, planned, [], guard=0, clear_after=1)
    assert [(row.reading.reading_id, row.source) for row in labels.rows] == [
        ("r-5", "assumed_normal"),
        ("r-10", "assumed_normal"),
    ]
    assert labels.excluded == {"verdict:planned_maintenance": 1}
    assert labels.informative() == 0


def test_readings_just_before_a_failure_or_a_repair_are_not_assumed_normal() -> None:
    readings = [_reading(n) for n in range(1, 11)] + [_reading(11, failure=1, failure_description="TWF")]
    repair = [StoredMaintenance("m1", "repaired", 4 * MINUTE), StoredMaintenance("m1", "inspected", 8 * MINUTE)]
    labels = label_history(PROFILE, readings, [], [], repair, guard=2, maintenance_window_ms=2 * MINUTE)
    kept = [row.reading.reading_id for row in labels.rows]
    assert kept == ["r-1", "r-4", "r-5", "r-6", "r-7", "r-8", "r-11"]
    assert labels.excluded == {"excluded:before_maintenance": 2, "excluded:before_failure": 2}


def test_the_comparison_counts_both_models_on_the_readings_both_scored() -> None:
    readings = [
        _reading(1, failure=1, failure_description="TWF", probability=0.8),
        _reading(2, failure=0, probability=0.7, status="predictive"),
        _reading(3, failure=0),
        _reading(4, failure=0),  # the challenger never scored it: left out
    ]
    labels = label_history(PROFILE, readings, [], [], [], guard=0)
    shadow = [
        ShadowRow("m1", "r-1", MINUTE, "failure", 0.6, 0.5),
        ShadowRow("m1", "r-2", 2 * MINUTE, "normal", 0.2, 0.5),
        ShadowRow("m1", "r-3", 3 * MINUTE, "normal", 0.1, 0.5),
    ]
    result = compare("ai4i-mill", readings, labels, shadow, "bbbbbbbbbbbb", clear_after=1)
    assert result.readings == 3
    assert (result.champion.precision, result.champion.recall) == (0.5, 1.0)
    assert (result.challenger.precision, result.challenger.recall) == (1.0, 1.0)
    assert (result.champion.alerts, result.challenger.alerts) == (1, 1)
    assert (result.agreement, result.champion_only, result.challenger_only) == (0.6667, 1, 0)
    assert result.machine_days == 2 * MINUTE / 86_400_000
    assert not decide(result, enabled=False, margin=0.0, min_labels=1).promote
    assert not decide(result, enabled=True, margin=0.0, min_labels=10).promote
    assert decide(result, enabled=True, margin=0.1, min_labels=3).promote
    assert not decide(result, enabled=True, margin=0.5, min_labels=3).promote
