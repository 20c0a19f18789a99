"""A local HTTP receiver of webhooks (real sockets) that misbehaves on cue, for tests."""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

from broker.local import free_port

Behaviour = Literal["drop", "hang", "500", "200"]


@dataclass(frozen=True)
class Received:
    """One request as it arrived (also those the receiver then failed)."""

    headers: dict[str, str]
    body: bytes
    answered: Behaviour
    at: float


class WebhookReceiver:
    """Answers each request with the next scripted behaviour, then 200 for good.

    `drop` closes the connection without an answer, `hang` answers only after `hang_s`
    (past the sender's timeout), `500` is a server error. `start()` may come later than the
    constructor: until then the port refuses connections.
    """

    def __init__(self, *script: Behaviour, hang_s: float = 3.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/forewarn"
        self.hang_s = hang_s
        self.requests: list[Received] = []
        self._script: deque[Behaviour] = deque(script)
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> WebhookReceiver:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def next_behaviour(self) -> Behaviour:
        with self._lock:
            return self._script.popleft() if self._script else "200"

    def record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)
            self._lock.notify_all()

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.answered == "200"]

    def wait_accepted(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len([r for r in self.requests if r.answered == "200"]) < count and time.monotonic() < deadline:
                self._lock.wait(max(deadline - time.monotonic(), 0.0))
        return self.accepted()


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            behaviour = receiver.next_behaviour()
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver.record(Received(headers, body, behaviour, time.time()))
            if behaviour == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if behaviour == "hang":
                time.sleep(receiver.hang_s)
            status = 500 if behaviour == "500" else 200
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:  # the sender gave up waiting and closed the connection
                self.close_connection = True

        def log_message(self, *_args: object) -> None:
            pass

    return Handler
