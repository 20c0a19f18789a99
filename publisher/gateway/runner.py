"""Runs a device session (asyncio, in a thread of its own) beside the publisher (the main thread).

The publisher's outbox and MQTT session stay on the main thread, as for every sensor: the device
thread only hands finished reading values over a queue and wakes the publisher up. The device is
checked against the mapping (its first session) before the broker is contacted: a mapping that
does not fit the device stops the gateway with its one-line errors and exit status 2.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from common.settings import ConfigError
from contract import InvalidReading
from publisher.service import ReadingPublisher

__all__ = ["DeviceSession", "Handoff", "run_gateway", "sleep_unless_stopped"]

log = logging.getLogger(__name__)

Values = Mapping[str, float | str]


class Handoff:
    """Reading values from the device thread to the publisher thread, plus the device's state."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._queue: queue.SimpleQueue[tuple[str | None, Values]] = queue.SimpleQueue()
        self._wake = wake
        self.validated = threading.Event()  # the device matched the mapping once
        self.stop = threading.Event()

    def submit(self, values: Values, machine_id: str | None = None) -> None:
        """Queue one reading's values (thread-safe)."""
        self._queue.put((machine_id, values))
        self._wake()

    @property
    def empty(self) -> bool:
        return self._queue.empty()

    def drain(self, limit: int = 200) -> list[tuple[str | None, Values]]:
        """Up to `limit` queued items (so acknowledgements are processed between batches)."""
        items: list[tuple[str | None, Values]] = []
        while len(items) < limit:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items
        return items


async def sleep_unless_stopped(handoff: Handoff, seconds: float) -> None:
    """Sleep in the device thread, waking up early (within 50 ms) when the gateway is asked to stop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not handoff.stop.is_set() and loop.time() < deadline:
        await asyncio.sleep(min(0.05, deadline - loop.time()))


DeviceSession = Callable[[Handoff], Coroutine[Any, Any, None]]


class _DeviceThread(threading.Thread):
    def __init__(self, session: DeviceSession, handoff: Handoff) -> None:
        super().__init__(name="device", daemon=True)
        self.session = session
        self.handoff = handoff
        self.error: BaseException | None = None
        self.finished = threading.Event()

    def run(self) -> None:
        try:
            asyncio.run(self.session(self.handoff))
        except BaseException as exc:  # handed to the main thread, which reports it
            self.error = exc
        finally:
            self.finished.set()


def run_gateway(publisher: ReadingPublisher, session: DeviceSession) -> None:
    """Check the device, then publish what it reports until stopped; ConfigError if it does not fit."""
    handoff = Handoff(publisher.sender.wake)
    device = _DeviceThread(session, handoff)
    device.start()
    if not _wait_validated(publisher, handoff, device):
        _finish(device, handoff)
        return
    publisher.start()
    try:
        while not publisher.stopping and not device.finished.is_set():
            publisher.pump(0.25 if handoff.empty else 0.0)
            _offer(publisher, handoff.drain())
        _offer(publisher, handoff.drain(limit=1_000_000))
    finally:
        _finish(device, handoff)


def _wait_validated(publisher: ReadingPublisher, handoff: Handoff, device: _DeviceThread) -> bool:
    while not handoff.validated.wait(0.25):
        if device.finished.is_set():
            _raise_from(device)
            return False
        if publisher.stop_requested.is_set():
            return False
    return True


def _offer(publisher: ReadingPublisher, items: list[tuple[str | None, Values]]) -> None:
    for machine_id, values in items:
        try:
            publisher.offer_values(values, machine_id)
        except InvalidReading as exc:
            publisher.bad_rows += 1
            log.warning("reading of %s refused before sending: %s", machine_id or publisher.machine_id, exc)


def _finish(device: _DeviceThread, handoff: Handoff) -> None:
    handoff.stop.set()
    device.join(timeout=10)
    _raise_from(device)


def _raise_from(device: _DeviceThread) -> None:
    if isinstance(device.error, ConfigError):
        raise device.error
    if device.error is not None:
        raise RuntimeError(f"device session failed: {device.error!r}") from device.error
