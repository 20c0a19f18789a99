"""Alert rules: one open alert per machine and kind, hysteresis, registers and the stale rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contract import Alert, AlertRegister, Prediction
from inference_worker.alerts import AlertPolicy, AlertTracker, alert_id_for
from tests.support.payloads import example

BASE = replace(Prediction.from_dict(example("prediction")), threshold=0.4, predicted_mode=None)
THRESHOLD = 0.4
PROBABILITY = {"predictive": 0.9, "failure": 0.9, "normal": 0.05}
WARNING = {"mode": "TWF", "remaining_min": 12.0, "text": "tool wear 188 min: about 12 min of tool use left"}


def _prediction(status: str, n: int, machine: str = "m1", probability: float | None = None) -> Prediction:
    return replace(
        BASE,
        machine_id=machine,
        reading_id=f"r{n}",
        status=status,  # type: ignore[arg-type]
        failure_probability=PROBABILITY[status] if probability is None else probability,
    )


def _run(tracker: AlertTracker, statuses: list[str], machine: str = "m1", first: int = 0) -> list[Alert]:
    events = []
    for n, status in enumerate(statuses, start=first):
        events += tracker.update(_prediction(status, n, machine), now=f"t{n}")
    return events


def _ts(minutes: float) -> str:
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_long_bad_spell_opens_one_alert_and_clears_it_once() -> None:
    tracker = AlertTracker(clear_after=3)
    events = _run(tracker, ["normal"] * 2 + ["predictive"] * 1000 + ["normal"] * 10)
    assert [(e.kind, e.state) for e in events] == [("predicted", "open"), ("predicted", "cleared")]
    opened, cleared = events
    assert opened.alert_id == cleared.alert_id == alert_id_for("m1", "predicted", "r2")
    assert cleared.cleared_at == "t1004"  # the third normal reading after the spell
    assert cleared.cleared_reason == "calm"
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
    cleared = _run(tracker, ["normal"], "a", first=10)
    assert sorted(e.kind for e in cleared) == ["detected", "predicted"]


# -- hysteresis ---------------------------------------------------------------------------


def _probabilities(tracker: AlertTracker, values: list[float]) -> list[tuple[int, str]]:
    """Feed readings with these probabilities (threshold 0.4); the (index, state) of each event."""
    events: list[tuple[int, str]] = []
    for n, value in enumerate(values):
        status = "predictive" if value >= THRESHOLD else "normal"
        events += [(n, e.state) for e in tracker.update(_prediction(status, n, probability=value), f"t{n}")]
    return events


def test_an_alert_clears_only_below_the_lower_level_for_n_readings_in_a_row() -> None:
    tracker = AlertTracker(clear_after=3, clear_ratio=0.5)  # opens at 0.4, calm below 0.2
    hovering = [0.45, 0.39, 0.3, 0.25, 0.21, 0.39, 0.35]  # just under the threshold: not calm
    events = _probabilities(tracker, [*hovering, 0.19, 0.1, 0.3, 0.1, 0.1, 0.05])
    # opened by the first; the band (0.2..0.4) never counts, and 0.3 restarts the count
    assert events == [(0, "open"), (12, "cleared")]


def test_without_hysteresis_the_same_readings_flap() -> None:
    tracker = AlertTracker(clear_after=1, clear_ratio=1.0)
    events = _probabilities(tracker, [0.45, 0.39, 0.41, 0.39, 0.41, 0.39])
    assert [state for _, state in events] == ["open", "cleared"] * 3


def test_the_policy_refuses_nonsense() -> None:
    for bad in ({"clear_after": 0}, {"clear_ratio": 0.0}, {"clear_ratio": 1.5}, {"stale_after_s": -1.0}):
        with pytest.raises(ValueError, match="must"):
            AlertPolicy(**bad)


# -- early warnings -----------------------------------------------------------------------


def test_an_early_warning_opens_a_predicted_alert_that_says_so() -> None:
    tracker = AlertTracker(clear_after=2)
    (opened,) = tracker.update(_prediction("normal", 1), "t1", early_warning=WARNING)
    assert (opened.kind, opened.state, opened.predicted_mode) == ("predicted", "open", "TWF")
    assert opened.early_warning == {"mode": "TWF", "remaining": 12.0, "unit": "min", "text": WARNING["text"]}
    assert opened.message == f"m1: early warning, {WARNING['text']}"
    assert tracker.update(_prediction("normal", 2), "t2", early_warning=WARNING) == []
    tracker.update(_prediction("normal", 3), "t3")
    (cleared,) = tracker.update(_prediction("normal", 4), "t4")
    assert cleared.state == "cleared"


def test_the_profile_form_of_the_time_left_is_carried_too() -> None:
    warning = {"mode": "OSF", "remaining": 3.5, "unit": "cycles", "counter": "wear", "text": "3.5 cycles left"}
    (opened,) = AlertTracker().update(_prediction("normal", 1), "t1", early_warning=warning)
    assert opened.early_warning == {"mode": "OSF", "remaining": 3.5, "unit": "cycles", "text": "3.5 cycles left"}


def test_a_model_prediction_is_not_an_early_warning() -> None:
    (opened,) = AlertTracker().update(_prediction("predictive", 1), "t1", early_warning=WARNING)
    assert opened.early_warning is None
    assert opened.message.startswith("m1: failure predicted")


# -- registers: the state shared by workers and kept across restarts -----------------------


def test_every_event_is_written_to_its_register() -> None:
    tracker = AlertTracker(clear_after=1)
    events = _run(tracker, ["failure", "normal"])
    registers = tracker.take_registers()
    assert [r.event() for r in registers] == events
    assert tracker.take_registers() == []


def test_a_restarted_worker_knows_the_open_alerts_from_the_registers() -> None:
    before = AlertTracker()
    _run(before, ["predictive", "failure"])
    registers = before.take_registers()
    after = AlertTracker()  # a new process: nothing in memory
    for register in registers:
        assert after.observe_register(AlertRegister.from_json(register.to_json())) == []
    assert sorted(a.alert_id for a in after.open_alerts()) == sorted(a.alert_id for a in before.open_alerts())
    assert _run(after, ["predictive", "failure"] * 10, first=100) == []  # nothing opened twice


def test_a_cleared_register_closes_what_a_peer_opened() -> None:
    peer, mine = AlertTracker(clear_after=1), AlertTracker()
    _run(peer, ["failure"])
    _run(peer, ["normal"], first=1)
    for register in peer.take_registers():
        mine.observe_register(register)
    assert mine.open_alerts() == []


def test_a_late_echo_of_a_cleared_alert_does_not_reopen_it() -> None:
    tracker = AlertTracker(clear_after=1)
    _run(tracker, ["failure", "normal"])
    opened, cleared = tracker.take_registers()
    tracker.observe_register(opened)  # the echo of the opening arrives after the clearing
    assert tracker.open_alerts() == []
    tracker.observe_register(cleared)
    assert tracker.open_alerts() == []


def test_two_workers_opening_the_same_alert_agree_on_the_older_one() -> None:
    first, second = AlertTracker(), AlertTracker()
    (older,) = first.update(_prediction("failure", 1), "2026-01-01T00:00:00.000Z")
    (newer,) = second.update(_prediction("failure", 2), "2026-01-01T00:00:00.005Z")
    first.take_registers(), second.take_registers()
    assert first.observe_register(AlertRegister.of(newer)) == []  # not its alert: its author clears it
    (superseded,) = second.observe_register(AlertRegister.of(older))
    assert (superseded.alert_id, superseded.state, superseded.cleared_reason) == (
        newer.alert_id,
        "cleared",
        "superseded",
    )
    assert [r.event() for r in second.take_registers()] == [older]  # the register ends on the kept one
    assert first.open_alerts() == second.open_alerts() == [older]


# -- the stale rule ------------------------------------------------------------------------


def test_an_offline_machine_s_alerts_go_stale_after_the_set_time() -> None:
    tracker = AlertTracker(stale_after_s=600)
    (opened,) = _run(tracker, ["failure"])
    tracker.machine_status("m1", online=False, now=_ts(0))
    assert [r.offline_since for r in tracker.take_registers()] == [None, _ts(0)]  # the clock is kept
    assert tracker.expire(datetime(2026, 1, 1, 0, 9, 59, tzinfo=UTC)) == []
    (stale,) = tracker.expire(datetime(2026, 1, 1, 0, 12, tzinfo=UTC))
    assert (stale.alert_id, stale.state, stale.cleared_reason) == (opened.alert_id, "cleared", "offline")
    assert stale.cleared_at == _ts(10)  # the deadline, the same from every worker
    assert "offline since" in stale.message
    assert tracker.open_alerts() == []
    assert tracker.expire(datetime(2026, 1, 2, tzinfo=UTC)) == []


def test_coming_back_online_stops_the_clock() -> None:
    tracker = AlertTracker(stale_after_s=600)
    _run(tracker, ["failure"])
    tracker.machine_status("m1", online=False, now=_ts(0))
    tracker.machine_status("m1", online=True, now=_ts(5))
    assert tracker.expire(datetime(2026, 1, 2, tzinfo=UTC)) == []
    assert tracker.take_registers()[-1].offline_since is None


def test_the_offline_clock_survives_a_restart_in_the_register() -> None:
    before = AlertTracker(stale_after_s=600)
    _run(before, ["failure"])
    before.machine_status("m1", online=False, now=_ts(0))
    register = before.take_registers()[-1]
    after = AlertTracker(stale_after_s=600)
    after.observe_register(register)
    after.machine_status("m1", online=False, now=_ts(30))  # the retained status, seen at start
    assert after.offline_since("m1") == _ts(0)  # not the restart's time
    (stale,) = after.expire(datetime(2026, 1, 1, 0, 31, tzinfo=UTC))
    assert stale.cleared_at == _ts(10)


def test_no_status_and_no_stale_time_means_no_stale_rule() -> None:
    silent = AlertTracker(stale_after_s=600)
    _run(silent, ["failure"])
    assert silent.expire(datetime(2030, 1, 1, tzinfo=UTC)) == []
    never = AlertTracker(stale_after_s=0)
    _run(never, ["failure"])
    never.machine_status("m1", online=False, now=_ts(0))
    assert never.expire(datetime(2030, 1, 1, tzinfo=UTC)) == []
