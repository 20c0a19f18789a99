"""Moves outbox rows to the broker: at most `window` unacknowledged, each deleted on its PUBACK.

paho's callbacks only put events (an acknowledged message id, link up, link down) on a
queue; the outbox (SQLite) is touched from the caller's thread only, in :meth:`Sender.pump`.

Order is kept across outages. Rows are handed to paho only while the link is up; paho keeps
the ones in flight when the link drops and resends them, in order, right after the next
CONNACK. A row handed over in the instant between the reconnect and that resend would
overtake them, so after a reconnect new rows wait until the resent ones are acknowledged.
Everything beyond the window waits in the outbox, not in paho's memory.

After every (re)connect the rows the broker acknowledged within the outbox's keep window are
sent once more before new ones: a broker that crashed may have lost them from its periodic
snapshot (see outbox.py). Their reading ids make these copies harmless downstream.

A PUBACK saying "No matching subscribers" means nobody will ever score that reading: no
worker is subscribed (Mosquitto 2.0.11 does not restore shared subscriptions after a restart,
so this happens until the worker is back). Such rows stay queued and are sent again after a
pause, before anything newer.
"""

from __future__ import annotations

import logging
import queue
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from contract import MAX_PAYLOAD_BYTES
from publisher.outbox import Entry, Outbox

__all__ = ["Sender", "SenderCounters"]

log = logging.getLogger(__name__)

_QUEUED = (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)  # NO_CONN: paho sends it after reconnecting
# Events that are not acknowledgements; paho's message ids start at 1.
_WAKE_UP, _LINK_UP, _LINK_DOWN = 0, -1, -2
_FIRST_FAILURE = 0x80  # MQTT 5 reason codes from here on are refusals
_NOT_AUTHORIZED = 0x87
_NO_MATCHING_SUBSCRIBERS = 0x10
_Event = tuple[int, int, str]  # message id (or one of the above), reason code, reason in words


@dataclass
class SenderCounters:
    """What happened to the messages since start."""

    published: int = 0  # handed to MQTT; a resend after a restart counts again
    acked: int = 0  # PUBACKs received, re-sent rows included
    refused: int = 0  # refused for the message itself: dropped, because a resend would be refused too
    replayed: int = 0  # acknowledged rows sent again after a reconnect, in case the broker lost them
    unrouted: int = 0  # PUBACKs saying nobody subscribes: those rows were kept and sent again


class Sender:
    """Feeds one outbox to one paho client."""

    def __init__(self, client: mqtt.Client, outbox: Outbox, window: int, unrouted_pause_s: float = 1.0) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.client = client
        self.outbox = outbox
        self.window = window
        self.unrouted_pause_s = unrouted_pause_s
        self.counters = SenderCounters()
        self._events: queue.SimpleQueue[_Event] = queue.SimpleQueue()
        self._in_flight: dict[int, Entry] = {}  # paho message id -> outbox row
        self._cursor = 0  # highest row id handed to paho in this process
        self._online = False
        self._holding = False  # after a reconnect: until paho's resends are acknowledged
        self._replay: deque[Entry] = deque()  # acknowledged rows to send again after a reconnect
        self._unrouted: deque[Entry] = deque()  # rows nobody subscribed to: sent again after a pause
        self._paused_until = 0.0
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
        if room <= 0 or not self._online or self._holding or self.denied or time.monotonic() < self._paused_until:
            return
        for again in (self._unrouted, self._replay):
            while again and room > 0:
                if not self._hand_over(again[0]):
                    return
                if again is self._replay:
                    self.counters.replayed += 1
                again.popleft()
                room -= 1
        if room <= 0:
            return
        for entry in self.outbox.after(self._cursor, room):
            if len(entry.payload) > MAX_PAYLOAD_BYTES:
                self._drop_oversized(entry)  # Mosquitto would drop the link for it, and paho resend it forever
            elif not self._hand_over(entry):
                return
            else:
                self.counters.published += 1
            self._cursor = entry.id

    def _drop_oversized(self, entry: Entry) -> None:
        self.outbox.discard([entry.id])
        self.counters.refused += 1
        log.warning(
            "outbox row %d is %d bytes, over %d: dropped, not sent", entry.id, len(entry.payload), MAX_PAYLOAD_BYTES
        )

    def _hand_over(self, entry: Entry) -> bool:
        info = self.client.publish(entry.topic, entry.payload, qos=1)
        if info.rc not in _QUEUED:
            log.error("MQTT client did not take outbox row %d: %s", entry.id, mqtt.error_string(info.rc))
            return False
        self._in_flight[info.mid] = entry
        return True

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
        acked: list[int] = []
        refused: list[int] = []
        for mid, code, reason in events:
            if mid in (_LINK_UP, _LINK_DOWN):
                self._link_changed(mid == _LINK_UP)
                continue
            if code == _NOT_AUTHORIZED and self.denied is None:
                self.denied = reason  # the reading stays queued: it is the ACL that needs fixing
                log.error("broker refused a publish: %s", reason)
            entry = self._in_flight.pop(mid, None)
            if entry is None or code == _NOT_AUTHORIZED:
                continue
            if code == _NO_MATCHING_SUBSCRIBERS:
                self._hold_unrouted(entry)
            else:
                (acked if self._settle(entry.id, code, reason) else refused).append(entry.id)
        if acked:
            self.outbox.ack(acked)
        if refused:
            self.outbox.discard(refused)
        if not self._in_flight:
            self._holding = False

    def _link_changed(self, up: bool) -> None:
        self._online = up
        self._holding = up and bool(self._in_flight)
        if up and self.outbox.keep_acked_ms:
            self._replay = deque(self.outbox.recently_acked())
            if self._replay:
                log.info("reconnected: sending the %d most recently acknowledged readings again", len(self._replay))

    def _hold_unrouted(self, entry: Entry) -> None:
        if not self._unrouted:
            log.warning(
                "the broker has no subscriber for %s (is the inference worker connected?); "
                "keeping the readings and sending them again in %.0f s",
                entry.topic,
                self.unrouted_pause_s,
            )
        self._unrouted.append(entry)
        self.counters.unrouted += 1
        self._paused_until = time.monotonic() + self.unrouted_pause_s

    def _settle(self, row_id: int, code: int, reason: str) -> bool:
        """Count the outcome; True when the broker accepted the message."""
        if code < _FIRST_FAILURE:
            self.counters.acked += 1
            return True
        # e.g. quota exceeded, payload format invalid: a resend would be refused again
        self.counters.refused += 1
        log.warning("broker refused outbox row %d (%s); dropped, not retried", row_id, reason)
        return False
