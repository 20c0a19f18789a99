"""Alert rules: one open alert per machine and kind, cleared after N normal readings."""

from __future__ import annotations

from dataclasses import replace

from contract import Prediction
from inference_worker.alerts import AlertTracker, alert_id_for
from tests.support.payloads import example

BASE = Prediction.from_dict(example("prediction"))


def _prediction(status: str, n: int, machine: str = "m1") -> Prediction:
    return replace(
        BASE,
        machine_id=machine,
        reading_id=f"r{n}",
        status=status,  # type: ignore[arg-type]
        failure_probability=0.9,
    )


def _run(tracker: AlertTracker, statuses: list[str], machine: str = "m1"):
    events = []
    for n, status in enumerate(statuses):
        events += tracker.update(_prediction(status, n, machine), now=f"t{n}")
    return events


def test_a_long_bad_spell_opens_one_alert_and_clears_it_once() -> None:
    tracker = AlertTracker(clear_after=3)
    events = _run(tracker, ["normal"] * 2 + ["predictive"] * 1000 + ["normal"] * 10)
    assert [(e.kind, e.state) for e in events] == [("predicted", "open"), ("predicted", "cleared")]
    opened, cleared = events
    assert opened.alert_id == cleared.alert_id == alert_id_for("m1", "predicted", "r2")
    assert cleared.cleared_at == "t1004"  # the third normal reading after the spell
    assert tracker.open_alerts() == []


def test_fewer_normal_readings_than_the_threshold_keep_it_open() -> None:
    tracker = AlertTracker(clear_after=3)
    events = _run(tracker, ["failure", "normal", "normal", "failure", "normal", "normal"])
    assert [(e.kind, e.state) for e in events] == [("detected", "open")]
    assert events[0].severity == "critical"


def test_kinds_and_machines_are_independent() -> None:
    tracker = AlertTracker(clear_after=1)
    events = _run(tracker, ["predictive", "failure"], "a") + _run(tracker, ["predictive"], "b")
    assert sorted((e.machine_id, e.kind) for e in events) == [("a", "detected"), ("a", "predicted"), ("b", "predicted")]
    cleared = _run(tracker, ["normal"], "a")
    assert sorted(e.kind for e in cleared) == ["detected", "predicted"]


def test_an_alert_opened_by_a_peer_is_not_opened_again() -> None:
    peer, mine = AlertTracker(), AlertTracker()
    (opened,) = _run(peer, ["predictive"])
    mine.observe(opened)
    assert _run(mine, ["predictive"] * 5) == []
    assert mine.open_alerts() == [opened]


def test_an_early_warning_opens_a_predicted_alert_on_a_reading_the_model_calls_normal() -> None:
    tracker = AlertTracker(clear_after=2)
    (opened,) = tracker.update(_prediction("normal", 1), "t1", early_warning="about 12 min of tool use left")
    assert (opened.kind, opened.state) == ("predicted", "open")
    assert opened.message == "m1: early warning, about 12 min of tool use left"
    assert tracker.update(_prediction("normal", 2), "t2", early_warning="about 10 min of tool use left") == []
    tracker.update(_prediction("normal", 3), "t3")
    (cleared,) = tracker.update(_prediction("normal", 4), "t4")
    assert cleared.state == "cleared"
