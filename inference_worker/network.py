"""Drive paho clients from the caller's thread: no loop_start threads.

Why: with paho's network thread for each of the worker's two connections plus a scoring
thread, three threads took turns with the interpreter lock on every message, and the
hand-overs cost more than the work they handed over. One thread that selects over both
sockets and scores between reads moves the same messages with less CPU.

`Link` does for one client what paho's loop_start thread did: read, write, keepalive and
reconnect with backoff (persistent sessions and the will are the client's settings, so
nothing changes there). Only the reconnect runs on a short-lived thread of its own: a TCP
connect and TLS handshake block for up to paho's connect timeout, and the other
connection must be served meanwhile. While it runs, nothing else touches that client.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)

MIN_RECONNECT_DELAY_S = 1.0  # as create_client's reconnect_delay_set for loop_start
MAX_RECONNECT_DELAY_S = 15.0
CONNECTING_POLL_S = 0.01  # while no socket is up: how soon a finished connect is noticed


class Link:
    """One paho client, served by the caller's loop."""

    def __init__(self, client: mqtt.Client, name: str) -> None:
        self.client = client
        self.name = name
        self._delay = 0.0  # before the next connection attempt: none for the first
        self._reconnecting: threading.Thread | None = None
        self._closing = threading.Event()

    @property
    def usable(self) -> bool:
        """True when the loop may read, write or queue packets on this client."""
        return self._reconnecting is None and self.client.socket() is not None

    @property
    def connected(self) -> bool:
        return self.usable and self.client.is_connected()

    def fileno(self) -> int:
        """For select(); only meaningful while `usable`."""
        sock = self.client.socket()
        return sock.fileno() if sock is not None else -1

    def has_buffered(self) -> bool:
        """Bytes TLS already decrypted: select() cannot see them, so read them first."""
        sock = self.client.socket()
        pending = getattr(sock, "pending", None)
        return bool(pending and pending())

    def has_data(self) -> bool:
        """Something to read right now (without waiting)."""
        if not self.usable:
            return False
        return self.has_buffered() or bool(select.select([self.fileno()], [], [], 0)[0])

    def read(self) -> None:
        """Handle what arrived: all of it for a client with messages in flight, else one packet."""
        if self.usable:
            self.client.loop_read()

    def write(self) -> None:
        if self.usable and self.client.want_write():
            self.client.loop_write()

    def tick(self) -> None:
        """Keepalive; start a reconnect when the connection is gone."""
        if self._reconnecting is not None:
            if self._reconnecting.is_alive():
                return
            self._reconnecting = None
        if self.client.socket() is None:
            if not self._closing.is_set():
                self._start_reconnect()
            return
        if self.client.is_connected():
            self._delay = MIN_RECONNECT_DELAY_S  # backoff starts again after a good session
        self.client.loop_misc()

    def close(self, properties: Properties | None = None) -> None:
        """Disconnect for good (the broker discards the will) and stop reconnecting."""
        self._closing.set()
        if self.usable:
            self.client.disconnect(properties=properties)

    @property
    def closed(self) -> bool:
        return self._closing.is_set() and (self.client.socket() is None or not self.client.want_write())

    def _start_reconnect(self) -> None:
        delay = self._delay
        self._delay = min(max(self._delay * 2, MIN_RECONNECT_DELAY_S), MAX_RECONNECT_DELAY_S)
        self._reconnecting = threading.Thread(
            target=self._reconnect, args=(delay,), daemon=True, name=f"{self.name}-reconnect"
        )
        self._reconnecting.start()

    def _reconnect(self, delay: float) -> None:
        if self._closing.wait(delay):  # a stop does not wait out the backoff
            return
        try:
            self.client.reconnect()  # CONNECT sent; CONNACK (and on_connect) come through read()
        except (OSError, ValueError) as exc:  # refused, unreachable, TLS failure: try again later
            log.warning("%s: cannot connect: %s", self.name, exc)


def wait(links: Sequence[Link], readable: Sequence[Link], timeout: float) -> tuple[set[Link], set[Link]]:
    """Select over the usable links: (those with data to read, those ready to write).

    `readable` are the links the caller wants to read; a link with TLS bytes already
    buffered counts as ready at once.
    """
    buffered = {link for link in readable if link.usable and link.has_buffered()}
    by_fd = {link.fileno(): link for link in links if link.usable}
    rlist = [link.fileno() for link in readable if link.usable]
    wlist = [fd for fd, link in by_fd.items() if link.client.want_write()]
    if not rlist and not wlist:
        if timeout > 0 and not buffered:
            time.sleep(min(timeout, CONNECTING_POLL_S))  # nothing to watch yet (connecting)
        return buffered, set()
    ready_r, ready_w, _ = select.select(rlist, wlist, [], 0 if buffered else timeout)
    return buffered | {by_fd[fd] for fd in ready_r}, {by_fd[fd] for fd in ready_w}
