"""A server-sent-events client that reconnects with Last-Event-ID, as a browser's EventSource does."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from dataclasses import dataclass, field

__all__ = ["EventStreamClient"]


@dataclass
class _Seen:
    predictions: set[str] = field(default_factory=set)
    prediction_events: int = 0
    resyncs: int = 0
    connects: int = 0
    resumed_with_id: int = 0  # reconnects that sent a Last-Event-ID
    refused: int = 0  # answers other than 200 (e.g. 503 while starting, 429)


class EventStreamClient:
    """Reads /api/events in a thread, reconnecting after any failure until closed."""

    def __init__(self, port: int, retry_s: float = 0.2) -> None:
        self.port = port
        self.retry_s = retry_s
        self.last_id: int | None = None
        self.seen = _Seen()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="sse-client", daemon=True)
        self._thread.start()

    def predictions(self) -> set[str]:
        with self._lock:
            return set(self.seen.predictions)

    def close(self) -> None:
        self._stop.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read at once; close() alone does not
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
                self._read_stream()
            self._stop.wait(self.retry_s)

    def _read_stream(self) -> None:
        headers = {"Accept": "text/event-stream"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = str(self.last_id)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", "/api/events", headers=headers)
        self._sock = conn.sock  # the response takes the socket over: keep it to end a read from close()
        response = conn.getresponse()
        if response.status != 200:
            with self._lock:
                self.seen.refused += 1
            response.read()
            return
        with self._lock:
            self.seen.connects += 1
            self.seen.resumed_with_id += self.last_id is not None
        event: dict[str, str] = {}
        while not self._stop.is_set():
            line = response.readline()
            if not line:
                return  # the server ended the stream
            text = line.decode().rstrip("\n")
            if text:
                name, _, value = text.partition(":")
                event[name] = value[1:] if value.startswith(" ") else value
                continue
            self._dispatch(event)
            event = {}

    def _dispatch(self, event: dict[str, str]) -> None:
        kind = event.get("event", "message")
        with self._lock:
            if kind == "resync":
                self.seen.resyncs += 1
            elif kind == "prediction" and "data" in event:
                self.seen.predictions.add(json.loads(event["data"])["reading_id"])
                self.seen.prediction_events += 1
        if "id" in event:
            self.last_id = int(event["id"])
