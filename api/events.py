"""Fan-out of live events to server-sent-event streams, and the cap on open streams.

The hub keeps the last `capacity` events in a ring buffer with increasing integer ids, so a
browser that reconnects with ``Last-Event-ID`` gets what it missed while that is still in
memory. Ids start at the start time in microseconds, so they keep growing across restarts of
the API and a browser's old Last-Event-ID never hides new events.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any

__all__ = ["Event", "EventHub", "StreamLimiter", "format_event"]


class Event:
    """One published event; its JSON text and its framing are made on first use, once for all
    subscribers (every stream sends every event: formatted per stream, the work grew with the
    number of dashboards open)."""

    __slots__ = ("_frame", "_text", "id", "kind", "payload")

    def __init__(self, event_id: int, kind: str, payload: dict[str, Any]) -> None:
        self.id = event_id
        self.kind = kind
        self.payload = payload
        self._text: str | None = None
        self._frame: str | None = None

    @property
    def data(self) -> str:
        # unlocked: two streams racing here both compute the same text, which is harmless
        if self._text is None:
            self._text = json.dumps(self.payload, separators=(",", ":"), allow_nan=False)
        return self._text

    @property
    def frame(self) -> str:
        """The event in text/event-stream framing (unlocked, as `data`)."""
        if self._frame is None:
            self._frame = f"id: {self.id}\nevent: {self.kind}\ndata: {self.data}\n\n"
        return self._frame


def format_event(event: Event) -> str:
    """The event in text/event-stream framing."""
    return event.frame


class EventHub:
    """Ring buffer of recent events; subscribers wait on a condition for newer ones."""

    def __init__(self, capacity: int = 10_000, first_id: int | None = None) -> None:
        self._events: deque[Event] = deque(maxlen=capacity)
        self._next_id = first_id if first_id is not None else time.time_ns() // 1_000
        self._changed = threading.Condition()
        self._closed = False

    @property
    def last_id(self) -> int:
        """Id of the newest event (one below the next id when none was published)."""
        with self._changed:
            return self._next_id - 1

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, kind: str, data: dict[str, Any]) -> Event:
        """Add an event (`data` must not change afterwards) and wake the waiting streams."""
        with self._changed:
            event = Event(self._next_id, kind, data)
            self._next_id += 1
            self._events.append(event)
            self._changed.notify_all()
        return event

    def publish_many(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Add a committed batch's events and wake the streams once, not once per event.

        At a fleet's rate a batch holds hundreds of events: waking every stream thread for each
        would have them fight the writer for the interpreter lock to send one event at a time.
        """
        if not events:
            return
        with self._changed:
            for kind, data in events:
                self._events.append(Event(self._next_id, kind, data))
                self._next_id += 1
            self._changed.notify_all()

    def after(self, last_id: int) -> tuple[list[Event], bool]:
        """Events newer than `last_id`, and whether some newer ones are already gone (a gap)."""
        with self._changed:
            return self._after(last_id)

    def wait_after(self, last_id: int, timeout: float) -> list[Event]:
        """Block until there are events newer than `last_id`, the hub closes, or `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self._closed:
                events, _gap = self._after(last_id)
                remaining = deadline - time.monotonic()
                if events or remaining <= 0:
                    return events
                self._changed.wait(remaining)
        return []

    def close(self) -> None:
        """Wake and end every stream (at shutdown)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _after(self, last_id: int) -> tuple[list[Event], bool]:
        if not self._events or last_id >= self._events[-1].id:
            return [], False
        newer: list[Event] = []
        for event in reversed(self._events):  # walk from the newest end: O(events returned)
            if event.id <= last_id:
                break
            newer.append(event)
        newer.reverse()
        return newer, last_id < self._events[0].id - 1


class StreamLimiter:
    """At most `per_client` open streams per client address and `total` altogether.

    Each stream holds a server thread for its whole life, so without a cap a few browsers
    could take every thread and starve the JSON routes.
    """

    def __init__(self, per_client: int, total: int) -> None:
        self.per_client = per_client
        self.total = total
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, client: str) -> bool:
        with self._lock:
            if sum(self._open.values()) >= self.total or self._open.get(client, 0) >= self.per_client:
                return False
            self._open[client] = self._open.get(client, 0) + 1
            return True

    def release(self, client: str) -> None:
        with self._lock:
            left = self._open.get(client, 0) - 1
            if left > 0:
                self._open[client] = left
            else:
                self._open.pop(client, None)

    def open_streams(self) -> int:
        with self._lock:
            return sum(self._open.values())
