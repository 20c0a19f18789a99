"""The sender's window over an unconnected paho client: the broker's PUBACKs are played by hand.

The real round trip through Mosquitto is in tests/integration/test_publisher_mqtt.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from publisher.outbox import Outbox
from publisher.sender import Sender

OK = ReasonCode(PacketTypes.PUBACK, "Success")
NOT_AUTHORIZED = ReasonCode(PacketTypes.PUBACK, "Not authorized")
QUOTA_EXCEEDED = ReasonCode(PacketTypes.PUBACK, "Quota exceeded")
NO_SUBSCRIBERS = ReasonCode(PacketTypes.PUBACK, "No matching subscribers")


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    box = Outbox(tmp_path / "m.db", max_rows=100)
    for n in range(10):
        box.put("pdm/machines/m/readings", b"%d" % n)
    return box


@pytest.fixture
def client() -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id="unit", protocol=mqtt.MQTTv5)


def puback(client: mqtt.Client, mids: list[int], reason: ReasonCode = OK) -> None:
    """What paho does when the broker's PUBACK for `mid` arrives."""
    callback: Any = client.on_publish
    for mid in mids:
        callback(client, None, mid, reason, None)


def queued(client: mqtt.Client) -> list[bytes]:
    """The payloads paho holds to send (or resend), in order."""
    return [bytes(m.payload) for m in client._out_messages.values()]


def online(client: mqtt.Client, outbox: Outbox, window: int) -> Sender:
    sender = Sender(client, outbox, window)
    sender.link_up()
    sender.pump(0)
    return sender


def test_no_more_than_the_window_is_handed_to_the_client(outbox: Outbox, client: mqtt.Client) -> None:
    sender = online(client, outbox, window=4)
    assert queued(client) == [b"0", b"1", b"2", b"3"]
    assert sender.in_flight == 4
    assert sender.counters.published == 4


def test_an_acknowledgement_deletes_the_row_and_makes_room(outbox: Outbox, client: mqtt.Client) -> None:
    sender = online(client, outbox, window=4)
    mids = list(client._out_messages)
    puback(client, mids[:2])
    sender.pump(0)
    assert outbox.depth == 8
    assert sender.counters.acked == 2
    assert sender.in_flight == 4
    assert [e.payload for e in outbox.after(0, 100)][:2] == [b"2", b"3"]
    assert queued(client)[-2:] == [b"4", b"5"]


@pytest.mark.parametrize("pause_s", [0.0, 60.0])
def test_no_matching_subscribers_keeps_the_row_and_sends_it_again_after_a_pause(
    outbox: Outbox, client: mqtt.Client, pause_s: float
) -> None:
    sender = Sender(client, outbox, window=2, unrouted_pause_s=pause_s)
    sender.link_up()
    sender.pump(0)
    puback(client, list(client._out_messages)[:1], NO_SUBSCRIBERS)  # nobody subscribed: never scored
    sender.pump(0)
    assert (sender.counters.acked, sender.counters.unrouted, outbox.depth) == (0, 1, 10)
    if pause_s:
        assert sender.in_flight == 1  # paused: nothing is handed over meanwhile
    else:
        assert queued(client)[-1] == b"0"  # the same reading again, before any newer one


def test_a_message_refused_for_itself_is_counted_and_not_retried(outbox: Outbox, client: mqtt.Client) -> None:
    sender = online(client, outbox, window=2)
    puback(client, list(client._out_messages)[:1], QUOTA_EXCEEDED)
    sender.pump(0)
    assert sender.counters.refused == 1
    assert sender.counters.acked == 0
    assert next(e.payload for e in outbox.after(0, 100)) == b"1"
    assert sender.denied is None
    assert len(queued(client)) == 3


def test_not_authorized_keeps_the_reading_and_stops_sending(outbox: Outbox, client: mqtt.Client) -> None:
    sender = online(client, outbox, window=2)
    puback(client, list(client._out_messages)[:1], NOT_AUTHORIZED)
    sender.pump(0)
    assert sender.denied == "Not authorized"
    assert outbox.depth == 10
    assert sender.counters.refused == 0
    assert len(queued(client)) == 2  # nothing more handed over


def test_acknowledgements_of_other_messages_and_wake_ups_are_ignored(outbox: Outbox, client: mqtt.Client) -> None:
    sender = online(client, outbox, window=2)
    puback(client, [60_000])
    sender.wake()
    sender.pump(0)
    assert outbox.depth == 10
    assert sender.counters.acked == 0


def test_a_new_sender_starts_again_from_the_oldest_row(outbox: Outbox, client: mqtt.Client) -> None:
    online(client, outbox, window=3)
    fresh = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="unit-2", protocol=mqtt.MQTTv5)
    online(fresh, outbox, window=3)
    assert queued(fresh) == [b"0", b"1", b"2"]


def test_nothing_is_handed_over_while_the_link_is_down(outbox: Outbox, client: mqtt.Client) -> None:
    sender = Sender(client, outbox, window=4)
    sender.feed()
    assert queued(client) == []
    sender.link_up()
    sender.pump(0)
    assert len(queued(client)) == 4
    sender.link_down()
    puback(client, list(client._out_messages)[:2])
    sender.pump(0)
    assert len(queued(client)) == 4
    assert sender.in_flight == 2


def test_after_a_reconnect_new_rows_wait_for_the_resent_ones(outbox: Outbox, client: mqtt.Client) -> None:
    sender = online(client, outbox, window=4)
    first = list(client._out_messages)
    sender.link_down()
    sender.link_up()  # paho now resends the four in flight; new rows must not overtake them
    puback(client, first[:3])
    sender.pump(0)
    assert sender.in_flight == 1
    assert queued(client)[-1] == b"3"
    puback(client, first[3:])
    sender.pump(0)
    assert queued(client)[-4:] == [b"4", b"5", b"6", b"7"]
