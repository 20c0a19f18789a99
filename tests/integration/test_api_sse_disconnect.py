"""/api/events over real HTTP (waitress as `python -m api` runs it): a closed stream frees its slot.

Keepalives are a minute apart here, so a slot freed within the test's seconds was freed by
waitress noticing the hang-up, not by a failed keepalive write.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from api import create_app, runtime_of
from api.server import create_api_server
from tests.support.api import feed, free_port, prediction, test_config

FREED_WITHIN_S = 2.0


class _Server:
    """The app behind the API's own waitress configuration, on a free port, in a thread."""

    def __init__(self, app: Flask) -> None:
        self.port = free_port()
        self.server = create_api_server(app, "127.0.0.1", self.port, threads=12)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    built = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}", keepalive_s=60.0, threads=12, max_streams=8))
    yield built
    runtime_of(built).stop()


@pytest.fixture
def served(app: Flask) -> Iterator[_Server]:
    server = _Server(app)
    yield server
    server.close()


def _open(port: int, last_event_id: int | None = None) -> tuple[socket.socket, int, bytes]:
    """A GET /api/events: the socket, the status code and what came after the headers so far."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    extra = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id is not None else ""
    sock.sendall(f"GET /api/events HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(4096)
        assert chunk, "connection closed before the response headers"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return sock, int(head.split(b" ", 2)[1]), body


def _read_until(sock: socket.socket, marker: bytes, body: bytes) -> bytes:
    while marker not in body:
        chunk = sock.recv(4096)
        assert chunk, f"stream ended before {marker!r}"
        body += chunk
    return body


def _accepted_within(port: int, seconds: float) -> socket.socket | None:
    """A stream opened as soon as the server accepts one, or None if it refused for `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        sock, status, _body = _open(port)
        if status == 200:
            return sock
        sock.close()
        assert status == 429
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def _wait_for_streams(app: Flask, count: int) -> None:
    deadline = time.monotonic() + 5
    while runtime_of(app).streams.open_streams() != count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runtime_of(app).streams.open_streams() == count


def test_closed_streams_free_the_per_client_cap_within_seconds(app: Flask, served: _Server) -> None:
    limit = runtime_of(app).config.max_streams_per_client
    opened = []
    for _ in range(limit):
        sock, status, body = _open(served.port)
        assert status == 200
        _read_until(sock, b": connected", body)
        opened.append(sock)
    refused, status, _body = _open(served.port)
    refused.close()
    assert status == 429  # the cap holds while the streams are open
    for sock in opened:
        sock.close()
    again = _accepted_within(served.port, FREED_WITHIN_S)
    assert again is not None, f"no stream accepted {FREED_WITHIN_S} s after {limit} streams were closed"
    again.close()
    _wait_for_streams(app, 0)


def test_closed_streams_free_the_total_cap_too(tmp_path: Path) -> None:
    app = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}", keepalive_s=60.0, threads=6, max_streams=2))
    server = _Server(app)
    try:
        first, second = _open(server.port), _open(server.port)
        assert (first[1], second[1]) == (200, 200)
        third, status, _body = _open(server.port)
        third.close()
        assert status == 429
        first[0].close()
        again = _accepted_within(server.port, FREED_WITHIN_S)
        assert again is not None
        _wait_for_streams(app, 2)  # the closed one went, the open one stayed
        again.close()
        second[0].close()
        _wait_for_streams(app, 0)
    finally:
        server.close()
        runtime_of(app).stop()


def test_last_event_id_replay_still_works_over_http(app: Flask, served: _Server) -> None:
    before = runtime_of(app).hub.last_id
    feed(app, predictions=[prediction("m1", "r1"), prediction("m1", "r2")])
    sock, status, body = _open(served.port, last_event_id=before)
    try:
        assert status == 200
        body = _read_until(sock, b'"reading_id":"r2"', body)
        assert b'"reading_id":"r1"' in body
        assert b"event: resync" not in body
    finally:
        sock.close()
    _wait_for_streams(app, 0)
