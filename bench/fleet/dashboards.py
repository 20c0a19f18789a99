"""Dashboards: event-stream clients of the API, as many as the bench asks for, in one process.

Each client holds ``GET /api/events`` open on its own connection, as a browser tab does, and
reconnects with ``Last-Event-ID`` when the stream ends. For every ``prediction`` event it
notes the arrival and the reading's ``ts``: sensor -> event stream, the last hop. Events are
cut from the raw bytes (the JSON is not decoded: five clients at thousands of events a second
must not make the bench the bottleneck). A ``resync`` event means the API dropped events for
this client (it fell behind the API's replay buffer): counted, never hidden.
"""

from __future__ import annotations

import contextlib
import http.client
import multiprocessing
import socket
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any

from bench.fleet.readings import ts_text_to_ms
from bench.fleet.windows import Tallies

__all__ = ["Dashboards", "parse_events"]

_SPAWN = multiprocessing.get_context("spawn")
_TS = b'"ts":"'
_PREDICTION = b"\nevent: prediction\n"
_RESYNC = b"event: resync"
_ID = b"id: "


def parse_events(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete events (blocks ending in a blank line) and what is left of an unfinished one."""
    *blocks, rest = buffer.split(b"\n\n")
    return blocks, rest


class _Client:
    """One event stream, read on a thread of its own."""

    def __init__(self, index: int, port: int, received: SynchronizedArray[int]) -> None:
        self.index, self.port, self.received = index, port, received
        self.tallies = Tallies()
        self.lock = threading.Lock()
        self.last_id: str | None = None
        self.connects = self.resyncs = self.refused = self.errors = 0
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self.thread = threading.Thread(target=self._run, name=f"dashboard-{index}", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._read_stream()
            except (OSError, http.client.HTTPException, ValueError):
                self.errors += 1
            self._stop.wait(0.2)

    def _read_stream(self) -> None:
        headers = {"Accept": "text/event-stream"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("GET", "/api/events", headers=headers)
        self._sock = conn.sock
        response = conn.getresponse()
        if response.status != 200:
            self.refused += 1
            response.read()
            return
        self.connects += 1
        rest = b""
        while not self._stop.is_set():
            chunk = response.read1(65536)
            if not chunk:
                return  # the server ended the stream
            blocks, rest = parse_events(rest + chunk)
            if blocks:
                self._handle(blocks)

    def _handle(self, blocks: list[bytes]) -> None:
        arrived = time.time() * 1000
        seen = 0
        with self.lock:
            for block in blocks:
                if block.startswith(_ID):
                    self.last_id = block[4 : block.index(b"\n")].decode()
                    if _PREDICTION in block:
                        at = block.find(_TS)
                        if at >= 0:
                            self.tallies.add(ts_text_to_ms(block[at + 6 : at + 30]), arrived)
                            seen += 1
                elif _RESYNC in block:
                    self.resyncs += 1
        self.received[self.index] += seen

    def stop(self) -> None:
        self._stop.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read at once
        self.thread.join(timeout=5)


def _main(conn: Connection, port: int, count: int, received: SynchronizedArray[int]) -> None:
    clients = [_Client(index, port, received) for index in range(count)]
    for client in clients:
        client.thread.start()
    conn.send("ready")
    while True:
        command, argument = conn.recv()
        if command == "begin":
            for client in clients:
                with client.lock:
                    client.tallies.begin(*argument)
            conn.send("ok")
        elif command == "counts":
            answer_counts = []
            for client in clients:
                with client.lock:
                    answer_counts.append(client.tallies.count(argument))
            conn.send(answer_counts)
        elif command == "take":
            answer = []
            for client in clients:
                with client.lock:
                    tally = client.tallies.take(argument)
                answer.append(
                    {
                        "tally": tally,
                        "connects": client.connects,
                        "resyncs": client.resyncs,
                        "refused": client.refused,
                        "errors": client.errors,
                    }
                )
            conn.send(answer)
        else:
            break
    for client in clients:
        client.stop()
    conn.send("stopped")


class Dashboards:
    """The bench's handle on the dashboards' process."""

    def __init__(self, port: int, count: int) -> None:
        self.count = count
        self.received = _SPAWN.Array("q", count, lock=False)  # prediction events per client so far
        self._conn, theirs = _SPAWN.Pipe()
        self.process = _SPAWN.Process(target=_main, args=(theirs, port, count, self.received), daemon=True)
        self.process.start()
        self._ask_ready()

    def _ask_ready(self) -> None:
        if not self._conn.poll(60):
            raise RuntimeError("dashboards did not start within 60 s")
        self._conn.recv()

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def slowest(self) -> int:
        """Prediction events received so far by the client that received the fewest."""
        return min(self.received[:]) if self.count else 0

    def begin(self, step: int, send_start: float, measure_start: float, measure_end: float, send_end: float) -> None:
        self._conn.send(("begin", (step, send_start, measure_start, measure_end, send_end)))
        self._conn.recv()

    def wait_for(self, step: int, stored: int, timeout: float) -> None:
        """Until every client has the step's `stored` events (the last commit's events trail its rows)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._conn.send(("counts", step))
            if min(self._conn.recv(), default=stored) >= stored:
                return
            time.sleep(0.1)

    def take(self, step: int) -> list[dict[str, Any]]:
        self._conn.send(("take", step))
        if not self._conn.poll(60):
            raise RuntimeError("dashboards did not answer within 60 s")
        answer: list[dict[str, Any]] = self._conn.recv()
        return answer

    def stop(self) -> None:
        with contextlib.suppress(OSError, EOFError, BrokenPipeError):
            self._conn.send(("stop", None))
            self._conn.poll(30)
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
