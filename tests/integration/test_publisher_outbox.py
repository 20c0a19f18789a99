"""The durable outbox: order, acknowledgement, the bound with counted drops, and reopening."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from publisher.outbox import Outbox


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "outbox" / "m-1.db"


def payloads(outbox: Outbox) -> list[bytes]:
    return [entry.payload for entry in outbox.after(0, 1_000)]


def test_messages_come_back_oldest_first(path: Path) -> None:
    outbox = Outbox(path, max_rows=10)
    for n in range(5):
        outbox.put("t", b"%d" % n)
    entries = outbox.after(0, 3)
    assert [e.payload for e in entries] == [b"0", b"1", b"2"]
    assert [e.payload for e in outbox.after(entries[-1].id, 10)] == [b"3", b"4"]
    assert {e.topic for e in entries} == {"t"}
    assert outbox.depth == 5


def test_an_acknowledged_message_is_gone_and_the_rest_stay(path: Path) -> None:
    outbox = Outbox(path, max_rows=10)
    for n in range(4):
        outbox.put("t", b"%d" % n)
    first, second, *_ = outbox.after(0, 10)
    assert outbox.ack([second.id, first.id]) == 2
    assert payloads(outbox) == [b"2", b"3"]
    assert outbox.depth == 2


def test_acknowledging_an_unknown_or_repeated_id_changes_nothing(path: Path) -> None:
    outbox = Outbox(path, max_rows=10)
    outbox.put("t", b"a")
    (entry,) = outbox.after(0, 10)
    assert outbox.ack([entry.id]) == 1
    assert outbox.ack([entry.id, 999]) == 0
    assert outbox.depth == 0


def test_when_full_the_oldest_are_dropped_and_counted(path: Path) -> None:
    outbox = Outbox(path, max_rows=3)
    dropped = [outbox.put("t", b"%d" % n) for n in range(5)]
    assert dropped == [0, 0, 0, 1, 1]
    assert outbox.dropped == 2
    assert payloads(outbox) == [b"2", b"3", b"4"]
    assert outbox.depth == 3


def test_what_was_queued_survives_reopening(path: Path) -> None:
    outbox = Outbox(path, max_rows=10)
    for n in range(3):
        outbox.put("pdm/machines/m-1/readings", b"%d" % n)
    outbox.ack([outbox.after(0, 1)[0].id])
    outbox.close()
    reopened = Outbox(path, max_rows=10)
    assert reopened.depth == 2
    assert payloads(reopened) == [b"1", b"2"]
    assert {e.topic for e in reopened.after(0, 10)} == {"pdm/machines/m-1/readings"}


def test_ids_keep_growing_even_after_the_outbox_emptied_and_reopened(path: Path) -> None:
    outbox = Outbox(path, max_rows=10)
    outbox.put("t", b"a")
    (old,) = outbox.after(0, 1)
    outbox.ack([old.id])
    outbox.close()
    reopened = Outbox(path, max_rows=10)
    reopened.put("t", b"b")
    (new,) = reopened.after(0, 1)
    assert new.id > old.id  # a sender's "after id N" cursor would otherwise skip it


def test_run_ids_never_repeat_even_if_the_clock_goes_back(path: Path) -> None:
    outbox = Outbox(path, max_rows=10)
    assert outbox.next_run_id(1_000) == 1_000
    assert outbox.next_run_id(1_000) == 1_001
    outbox.close()
    reopened = Outbox(path, max_rows=10)
    assert reopened.next_run_id(500) == 1_002
    assert reopened.next_run_id(5_000) == 5_000


def test_the_file_uses_write_ahead_logging(path: Path) -> None:
    Outbox(path, max_rows=10).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_bound_below_one_is_refused(path: Path) -> None:
    with pytest.raises(ValueError, match="max_rows"):
        Outbox(path, max_rows=0)
