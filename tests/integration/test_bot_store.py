"""The bot's SQLite outbox and mutes: what is owed survives a restart, nothing is owed twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from contract import Alert
from telegram_bot.store import Store
from tests.support.payloads import example

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _alert(alert_id: str = "a1", **changes) -> Alert:
    return replace(Alert.from_dict(example("alert")), alert_id=alert_id, **changes)


def test_an_event_is_owed_once_per_chat_however_often_it_arrives(tmp_path):
    store = Store(tmp_path / "bot.sqlite3")
    assert store.enqueue(_alert(), [1, 2], NOW) == 2
    assert store.enqueue(_alert(), [1, 2], NOW) == 0  # redelivered by the broker
    assert store.enqueue(_alert(state="cleared"), [1, 2], NOW) == 2  # the clearing is owed too
    assert [(d.alert.alert_id, d.alert.state) for d in store.pending(1)] == [
        ("a1", "open"),
        ("a1", "cleared"),
    ]


def test_what_is_pending_survives_a_restart_and_what_is_done_is_never_owed_again(tmp_path):
    store = Store(tmp_path / "bot.sqlite3")
    store.enqueue(_alert("a1"), [1], NOW)
    store.enqueue(_alert("a2"), [1], NOW)
    store.mark([store.pending(1)[0].seq], "sent", NOW)
    store.close()
    reopened = Store(tmp_path / "bot.sqlite3")
    assert [d.alert.alert_id for d in reopened.pending(1)] == ["a2"]
    assert reopened.enqueue(_alert("a1"), [1], NOW) == 0
    assert reopened.outcomes("a1") == {("open", 1): "sent"}
    assert reopened.pending_chats() == {1}


def test_marking_twice_keeps_the_first_outcome(tmp_path):
    store = Store(tmp_path / "bot.sqlite3")
    store.enqueue(_alert(), [1], NOW)
    (delivery,) = store.pending(1)
    store.mark([delivery.seq], "digest", NOW)
    store.mark([delivery.seq], "failed", NOW)
    assert store.outcomes("a1") == {("open", 1): "digest"}


def test_mutes_expire_and_can_be_lifted(tmp_path):
    store = Store(tmp_path / "bot.sqlite3")
    store.mute(1, "press-7", NOW + timedelta(minutes=30))
    store.mute(1, "lathe", NOW + timedelta(minutes=5))
    store.mute(2, "press-7", NOW + timedelta(minutes=30))
    assert [m for m, _ in store.mutes(1, NOW)] == ["lathe", "press-7"]
    assert [m for m, _ in store.mutes(1, NOW + timedelta(minutes=10))] == ["press-7"]
    assert store.unmute(1, "press-7")
    assert not store.unmute(1, "press-7")
    assert [m for m, _ in store.mutes(2, NOW)] == ["press-7"]


def test_prune_forgets_only_old_done_deliveries_and_expired_mutes(tmp_path):
    store = Store(tmp_path / "bot.sqlite3")
    old, recent, pending = _alert("old"), _alert("recent"), _alert("pending")
    for alert in (old, recent, pending):
        store.enqueue(alert, [1], NOW - timedelta(days=40))
    seqs = {d.alert.alert_id: d.seq for d in store.pending(1)}
    store.mark([seqs["old"]], "sent", NOW - timedelta(days=40))
    store.mark([seqs["recent"]], "sent", NOW - timedelta(days=1))
    store.mute(1, "m", NOW - timedelta(minutes=1))
    assert store.prune(NOW, keep_days=30) == 1
    assert store.outcomes("old") == {}
    assert store.outcomes("recent") == {("open", 1): "sent"}
    assert [d.alert.alert_id for d in store.pending(1)] == ["pending"]
    assert store.mutes(1, NOW - timedelta(minutes=2)) == []


def test_an_escalation_is_owed_once_per_chat_and_settles_its_watch(tmp_path):
    store = Store(tmp_path / "bot.sqlite3")
    due = NOW + timedelta(minutes=15)
    assert store.watch(_alert("a1"), due)
    assert not store.watch(_alert("a1"), due + timedelta(minutes=5))  # redelivered: the first due stands
    assert store.watch(_alert("a2"), due)
    assert store.due_escalations(due - timedelta(seconds=1)) == []
    assert [a.alert_id for a in store.due_escalations(due)] == ["a1", "a2"]
    assert store.settle("a2", "acknowledged", due)
    assert store.escalate(_alert("a1"), [-100, 7], due) == 2
    assert store.escalate(_alert("a1"), [-100, 7], due) == 0  # settled: never twice
    assert store.due_escalations(due + timedelta(days=1)) == []
    store.close()
    store = Store(tmp_path / "bot.sqlite3")  # after a restart
    assert [(d.alert.alert_id, d.escalated) for d in store.pending(-100)] == [("a1", True)]
    assert (store.escalation_outcome("a1"), store.escalation_outcome("a2")) == ("escalated", "acknowledged")
    assert store.escalation_outcome("never-watched") is None
    assert not store.settle("a1", "cleared", due)  # already settled
    store.close()
