"""The worker's own network loop reconnects like paho's loop thread: at once, then with backoff."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import paho.mqtt.client as mqtt
import pytest

from inference_worker import network
from inference_worker.network import Link


class _FakeClient:
    """A client whose broker is away: every connection attempt fails."""

    def __init__(self) -> None:
        self.attempts: list[float] = []
        self.misc_calls = 0
        self.connected = threading.Event()

    def socket(self) -> Any:
        return object() if self.connected.is_set() else None

    def is_connected(self) -> bool:
        return self.connected.is_set()

    def want_write(self) -> bool:
        return False

    def loop_misc(self) -> None:
        self.misc_calls += 1

    def reconnect(self) -> None:
        self.attempts.append(time.monotonic())
        raise ConnectionRefusedError("broker away")


def _tick_until(link: Link, client: _FakeClient, attempts: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(client.attempts) < attempts and time.monotonic() < deadline:
        link.tick()
        time.sleep(0.005)


def test_first_attempt_at_once_then_growing_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "MIN_RECONNECT_DELAY_S", 0.3)
    monkeypatch.setattr(network, "MAX_RECONNECT_DELAY_S", 0.6)
    client = _FakeClient()
    link = Link(cast(mqtt.Client, client), "test")
    started = time.monotonic()
    _tick_until(link, client, 4, 10.0)
    gaps = [b - a for a, b in zip([started, *client.attempts], client.attempts, strict=False)]
    # lower bounds are exact (the backoff waits at least that long); the upper ones leave a
    # busy machine a quarter of a second of scheduling delay
    assert gaps[0] < 0.25  # the first connection is not delayed
    assert gaps[1] >= 0.29
    assert gaps[2] >= 0.59  # doubled
    assert 0.59 <= gaps[3] < 1.15  # then capped (not doubled again to 1.2)
    assert not link.usable
    assert client.misc_calls == 0  # no keepalive without a connection


def test_close_stops_reconnecting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "MIN_RECONNECT_DELAY_S", 0.05)
    client = _FakeClient()
    link = Link(cast(mqtt.Client, client), "test")
    _tick_until(link, client, 1, 5.0)
    link.close()
    for _ in range(30):
        link.tick()
        time.sleep(0.01)
    assert len(client.attempts) == 1
    assert link.closed


def test_a_connected_link_gets_keepalive() -> None:
    client = _FakeClient()
    client.connected.set()
    link = Link(cast(mqtt.Client, client), "test")
    link.tick()
    assert link.usable
    assert client.misc_calls == 1
    assert client.attempts == []
