"""The outbox keeps acknowledged readings for a while and the sender sends them again after a reconnect.

A broker that crashes loses what it acknowledged since its last snapshot (autosave_interval),
so the publisher keeps acknowledged rows for a window longer than that (issue 8, R3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from contract import MAX_PAYLOAD_BYTES
from publisher.outbox import Outbox
from publisher.sender import Sender

OK = ReasonCode(PacketTypes.PUBACK, "Success")
QUOTA_EXCEEDED = ReasonCode(PacketTypes.PUBACK, "Quota exceeded")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path: Path, clock: Clock) -> Outbox:
    return Outbox(tmp_path / "m.db", max_rows=100, keep_acked_ms=15_000, clock=clock)


def ids(outbox: Outbox) -> list[int]:
    return [entry.id for entry in outbox.after(0, 1_000)]


def test_an_acknowledged_row_is_kept_but_no_longer_waits(outbox: Outbox) -> None:
    for n in range(3):
        outbox.put("t", b"%d" % n)
    first, *_ = outbox.after(0, 10)
    assert outbox.ack([first.id]) == 1
    assert outbox.depth == 2
    assert outbox.kept == 1
    assert first.id not in ids(outbox)  # not sent again as a new row
    assert [e.payload for e in outbox.recently_acked()] == [b"0"]
    assert outbox.ack([first.id]) == 0  # a second PUBACK for it changes nothing


def test_kept_rows_age_out_relative_to_the_newest_acknowledgement(outbox: Outbox, clock: Clock) -> None:
    for n in range(3):
        outbox.put("t", b"%d" % n)
    rows = outbox.after(0, 10)
    outbox.ack([rows[0].id])
    clock.now += 60_000  # a long outage: no acknowledgement meanwhile, so nothing ages out
    assert outbox.kept == 1
    outbox.ack([rows[1].id])  # the first acknowledgement after it: now the old one goes
    assert [e.payload for e in outbox.recently_acked()] == [b"1"]
    clock.now += 10_000
    outbox.ack([rows[2].id])
    assert [e.payload for e in outbox.recently_acked()] == [b"1", b"2"]  # both within 15 s of the newest


def test_the_bound_drops_waiting_rows_never_kept_ones_first(tmp_path: Path, clock: Clock) -> None:
    box = Outbox(tmp_path / "m.db", max_rows=2, keep_acked_ms=15_000, clock=clock)
    for n in range(2):
        box.put("t", b"%d" % n)
    box.ack([box.after(0, 1)[0].id])
    assert box.put("t", b"2") == 0  # one waiting + the new one: within the bound
    assert box.put("t", b"3") == 1
    assert [e.payload for e in box.after(0, 10)] == [b"2", b"3"]
    assert [e.payload for e in box.recently_acked()] == [b"0"]


def test_discarded_rows_are_gone_for_good(outbox: Outbox) -> None:
    outbox.put("t", b"a")
    (entry,) = outbox.after(0, 1)
    assert outbox.discard([entry.id]) == 1
    assert outbox.depth == 0
    assert outbox.kept == 0
    assert outbox.recently_acked() == []


def test_an_outbox_of_the_previous_format_gains_the_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, "
            "payload BLOB NOT NULL); INSERT INTO outbox (topic, payload) VALUES ('t', X'78');"
        )
    reopened = Outbox(path, max_rows=10, keep_acked_ms=1_000)
    assert reopened.depth == 1
    assert [e.payload for e in reopened.after(0, 10)] == [b"x"]


@pytest.fixture
def client() -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id="unit", protocol=mqtt.MQTTv5)


def queued(client: mqtt.Client) -> list[bytes]:
    return [bytes(m.payload) for m in client._out_messages.values()]


def puback(client: mqtt.Client, mids: list[int], reason: ReasonCode = OK) -> None:
    callback: Any = client.on_publish
    for mid in mids:
        callback(client, None, mid, reason, None)


def test_after_a_reconnect_kept_rows_go_again_before_new_ones(outbox: Outbox, client: mqtt.Client) -> None:
    for n in range(6):
        outbox.put("t", b"%d" % n)
    sender = Sender(client, outbox, window=2)
    sender.link_up()
    sender.pump(0)
    puback(client, list(client._out_messages))  # rows 0 and 1 acknowledged
    sender.pump(0)  # rows 2 and 3 in flight; then the broker crashes
    in_flight = list(client._out_messages)[-2:]
    sender.link_down()
    sender.link_up()
    puback(client, in_flight)  # paho resent rows 2 and 3 after the CONNACK
    sender.pump(0)
    assert queued(client)[-2:] == [b"0", b"1"]  # sent again: the crashed broker may not have saved them
    assert sender.counters.replayed == 2
    puback(client, list(client._out_messages)[-2:])
    sender.pump(0)
    assert queued(client)[-2:] == [b"4", b"5"]  # then the new ones, in order
    assert outbox.depth == 2


def test_a_refused_row_is_dropped_and_never_sent_again(outbox: Outbox, client: mqtt.Client) -> None:
    outbox.put("t", b"a")
    sender = Sender(client, outbox, window=2)
    sender.link_up()
    sender.pump(0)
    puback(client, list(client._out_messages), QUOTA_EXCEEDED)
    sender.pump(0)
    assert outbox.kept == 0  # refused: not kept for a replay
    assert outbox.depth == 0


def test_an_oversized_row_is_dropped_before_it_can_make_the_client_loop(outbox: Outbox, client: mqtt.Client) -> None:
    outbox.put("t", b"x" * (MAX_PAYLOAD_BYTES + 1))
    outbox.put("t", b"small")
    sender = Sender(client, outbox, window=2)
    sender.link_up()
    sender.pump(0)
    assert queued(client) == [b"small"]
    assert sender.counters.refused == 1
    assert outbox.depth == 1
