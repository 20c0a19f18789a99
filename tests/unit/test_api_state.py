"""The in-memory machine state: latest reading, counts, online rule and its events."""

from __future__ import annotations

from collections import Counter
from typing import Any

from api.state import MachineState, StateCache

OFFLINE_AFTER_MS = 60_000
T0 = 1_795_000_000_000


def _prediction(machine_id: str, reading_id: str, status: str = "normal", profile: str = "mill") -> dict[str, Any]:
    return {"machine_id": machine_id, "reading_id": reading_id, "status": status, "threshold": 0.4, "profile": profile}


def _kinds(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [kind for kind, _data in events]


def test_the_latest_reading_is_the_newest_by_time_not_by_arrival() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.add_predictions([_prediction("m", "new"), _prediction("m", "old")], [T0 + 5, T0], T0 + 5)
    summary = cache.summary("m", T0 + 5)
    assert summary is not None
    assert summary["latest"]["reading_id"] == "new"
    assert summary["counts"] == {"readings": 2, "predictive": 0, "failure": 0}


def test_a_first_prediction_announces_the_machine_online_once() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    events = cache.add_predictions([_prediction("m", "1"), _prediction("m", "2")], [T0, T0 + 1], T0)
    assert _kinds(events) == ["prediction", "status", "prediction"]
    assert events[1][1]["online"] is True


def test_a_silent_machine_goes_offline_at_the_sweep_and_back_online_when_heard() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.add_predictions([_prediction("m", "1")], [T0], T0)
    assert cache.sweep(T0 + OFFLINE_AFTER_MS) == []
    went = cache.sweep(T0 + OFFLINE_AFTER_MS + 1)
    assert [(kind, data["online"]) for kind, data in went] == [("status", False)]
    assert cache.sweep(T0 + OFFLINE_AFTER_MS + 2) == []  # announced once
    back = cache.add_predictions([_prediction("m", "2")], [T0 + 70_000], T0 + 70_000)
    assert _kinds(back) == ["prediction", "status"]


def test_an_offline_status_wins_even_when_its_time_is_older_than_the_readings() -> None:
    # a last will carries the time it was registered, before every reading that followed
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.set_status("m", "online", T0, T0)
    cache.add_predictions([_prediction("m", "1")], [T0 + 10], T0 + 10)
    events = cache.set_status("m", "offline", T0 - 1, T0 + 20)
    assert [data["online"] for _kind, data in events] == [False]
    summary = cache.summary("m", T0 + 20)
    assert summary is not None
    assert summary["online"] is False
    assert cache.set_status("m", "online", T0 + 30, T0 + 30)[0][1]["online"] is True


def test_an_online_status_alone_counts_as_being_heard_from() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.set_status("m", "online", T0, T0)
    summary = cache.summary("m", T0 + 1)
    assert summary is not None
    assert summary["online"] is True
    assert summary["latest"] is None
    assert summary["status"] is None
    assert summary["last_seen"] is not None


def test_open_alerts_are_kept_until_cleared() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    opened = {"alert_id": "a", "machine_id": "m", "state": "open", "opened_at": "2026-11-27T08:00:00.000Z"}
    assert _kinds(cache.put_alert(opened)) == ["alert"]
    summary = cache.summary("m", T0)
    assert summary is not None
    assert [a["alert_id"] for a in summary["open_alerts"]] == ["a"]
    cache.put_alert({**opened, "state": "cleared"})
    summary = cache.summary("m", T0)
    assert summary is not None
    assert summary["open_alerts"] == []


def test_a_stale_open_view_cannot_reopen_a_cleared_alert() -> None:
    # an acknowledgement that read the row just before the clearing committed
    cache = StateCache(OFFLINE_AFTER_MS)
    opened = {"alert_id": "a", "machine_id": "m", "state": "open", "opened_at": "2026-11-27T08:00:00.000Z"}
    cache.put_alert(opened)
    cache.put_alert({**opened, "state": "cleared"})
    assert cache.put_alert({**opened, "acked_by": "ana"}) == []
    summary = cache.summary("m", T0)
    assert summary is not None
    assert summary["open_alerts"] == []


def test_totals_count_machines_by_status_and_by_online() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.add_predictions([_prediction("c", "1", "predictive")], [T0 - 120_000], T0 - 120_000)  # silent since
    cache.add_predictions([_prediction("a", "1"), _prediction("b", "1", "failure")], [T0, T0], T0)
    cache.set_status("d", "offline", T0, T0)
    machines, totals = cache.summaries(T0)
    assert [m["machine_id"] for m in machines] == ["a", "b", "c", "d"]
    assert totals == {"normal": 1, "predictive": 1, "failure": 1, "unscored": 0, "offline": 2, "online": 2}


def test_a_machine_carries_the_profile_of_its_newest_prediction_and_unscored_ones_are_counted() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.add_predictions([_prediction("fan", "1", "unscored", profile="fan")], [T0], T0)
    cache.add_predictions([_prediction("m", "1"), _prediction("m", "2", profile="press")], [T0, T0 + 1], T0)
    machines, totals = cache.summaries(T0)
    assert [(m["machine_id"], m["profile"], m["status"]) for m in machines] == [
        ("fan", "fan", "unscored"),
        ("m", "press", "normal"),
    ]
    assert totals["unscored"] == 1
    assert totals["normal"] == 1


def test_a_prune_subtracts_counts_and_forgets_a_latest_reading_it_removed() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.load_machine(MachineState("m", counts=Counter(readings=5, failure=2)), T0)
    cache.add_predictions([_prediction("m", "1", "failure")], [T0 - 100], T0)
    cache.forget({"m": Counter(readings=4, failure=3)}, cutoff_ms=T0)
    summary = cache.summary("m", T0)
    assert summary is not None
    assert summary["counts"] == {"readings": 2, "predictive": 0, "failure": 0}
    assert summary["latest"] is None


def test_services_keep_their_last_status() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.set_service("worker", "online", T0)
    cache.set_service("worker", "offline", T0 + 1)
    assert cache.services()["worker"]["state"] == "offline"
