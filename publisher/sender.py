"""Moves outbox rows to the broker: at most `window` unacknowledged, each deleted on its PUBACK.

paho's callbacks only put events (an acknowledged message id, link up, link down) on a
queue; the outbox (SQLite) is touched from the caller's thread only, in :meth:`Sender.pump`.

Order is kept across outages. Rows are handed to paho only while the link is up; paho keeps
the ones in flight when the link drops and resends them, in order, right after the next
CONNACK. A row handed over in the instant between the reconnect and that resend would
overtake them, so after a reconnect new rows wait until the resent ones are acknowledged.
Everything beyond the window waits in the outbox, not in paho's memory.
"""

from __future__ import annotations

import logging
import queue
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from publisher.outbox import Outbox

__all__ = ["Sender", "SenderCounters"]

log = logging.getLogger(__name__)

_QUEUED = (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)  # NO_CONN: paho sends it after reconnecting
# Events that are not acknowledgements; paho's message ids start at 1.
_WAKE_UP, _LINK_UP, _LINK_DOWN = 0, -1, -2
_FIRST_FAILURE = 0x80  # MQTT 5 reason codes from here on are refusals
_NOT_AUTHORIZED = 0x87
_Event = tuple[int, int, str]  # message id (or one of the above), reason code, reason in words


@dataclass
class SenderCounters:
    """What happened to the messages since start."""

    published: int = 0  # handed to MQTT; a resend after a restart counts again
    acked: int = 0
    refused: int = 0  # refused for the message itself: dropped, because a resend would be refused too


class Sender:
    """Feeds one outbox to one paho client."""

    def __init__(self, client: mqtt.Client, outbox: Outbox, window: int) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.client = client
        self.outbox = outbox
        self.window = window
        self.counters = SenderCounters()
        self._events: queue.SimpleQueue[_Event] = queue.SimpleQueue()
        self._in_flight: dict[int, int] = {}  # paho message id -> outbox row id
        self._cursor = 0  # highest row id handed to paho in this process
        self._online = False
        self._holding = False  # after a reconnect: until paho's resends are acknowledged
        # Set when the broker says "Not authorized": the account or the topic prefix is wrong and
        # every further publish would be refused too (Mosquitto even drops the link each time).
        self.denied: str | None = None
        client.on_publish = self._on_publish

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def _on_publish(
        self, _client: mqtt.Client, _userdata: object, mid: int, reason: ReasonCode, _props: object
    ) -> None:
        self._events.put((mid, reason.value, str(reason)))

    def wake(self) -> None:
        """End a :meth:`pump` wait early (safe from a signal handler or another thread)."""
        self._events.put((_WAKE_UP, 0, "wake up"))

    def link_up(self) -> None:
        """The session is up (call from paho's on_connect)."""
        self._events.put((_LINK_UP, 0, "link up"))

    def link_down(self) -> None:
        """The session dropped (call from paho's on_disconnect)."""
        self._events.put((_LINK_DOWN, 0, "link down"))

    def follow_disconnects(self) -> None:
        """Chain :meth:`link_down` onto the client's current on_disconnect callback."""
        inner = self.client.on_disconnect

        def on_disconnect(*args: Any) -> None:
            if inner is not None:
                inner(*args)
            self.link_down()

        self.client.on_disconnect = on_disconnect

    def pump(self, timeout: float) -> None:
        """Wait up to `timeout` s for acknowledgements, apply them, then top up the window."""
        self._apply(self._collect(timeout))
        self.feed()

    def feed(self) -> None:
        """Hand the oldest rows not yet in flight to paho, up to the window."""
        room = self.window - len(self._in_flight)
        if room <= 0 or not self._online or self._holding or self.denied:
            return
        for entry in self.outbox.after(self._cursor, room):
            info = self.client.publish(entry.topic, entry.payload, qos=1)
            if info.rc not in _QUEUED:
                log.error("MQTT client did not take outbox row %d: %s", entry.id, mqtt.error_string(info.rc))
                return
            self._in_flight[info.mid] = entry.id
            self._cursor = entry.id
            self.counters.published += 1

    def _collect(self, timeout: float) -> list[_Event]:
        items = []
        try:
            items.append(self._events.get(timeout=timeout) if timeout > 0 else self._events.get_nowait())
            while True:
                items.append(self._events.get_nowait())
        except queue.Empty:
            pass
        return items

    def _apply(self, events: list[_Event]) -> None:
        done = []
        for mid, code, reason in events:
            if mid in (_LINK_UP, _LINK_DOWN):
                self._online = mid == _LINK_UP
                self._holding = self._online and bool(self._in_flight)
                continue
            if code == _NOT_AUTHORIZED and self.denied is None:
                self.denied = reason  # the reading stays queued: it is the ACL that needs fixing
                log.error("broker refused a publish: %s", reason)
            row_id = self._in_flight.pop(mid, None)
            if row_id is not None and code != _NOT_AUTHORIZED:
                self._settle(row_id, code, reason)
                done.append(row_id)
        if done:
            self.outbox.ack(done)
        if not self._in_flight:
            self._holding = False

    def _settle(self, row_id: int, code: int, reason: str) -> None:
        if code < _FIRST_FAILURE:
            self.counters.acked += 1
        else:  # e.g. quota exceeded, payload format invalid: a resend would be refused again
            self.counters.refused += 1
            log.warning("broker refused outbox row %d (%s); dropped, not retried", row_id, reason)
