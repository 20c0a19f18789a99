"""The waitress server of the API: the one place its serving options are chosen.

Connection floods: waitress serves a fixed number of connections (`connection_limit`) and,
left to its defaults, keeps an idle one for two minutes, so 100 idle sockets from anyone
stopped it. Here an idle connection (no request running) is closed after
FOREWARN_API_IDLE_TIMEOUT_S, the limit is FOREWARN_API_MAX_CONNECTIONS, the event loop uses
poll() (select() cannot watch descriptors above 1024), and a connection from an address that
already has FOREWARN_API_MAX_CONNECTIONS_PER_CLIENT open is closed as soon as it is accepted
(trusted proxies excepted), so one address can hold only a small share of the total.
"""

from __future__ import annotations

import logging
import resource
from typing import Any

from flask import Flask
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from api.app import runtime_of
from api.clients import ConnectionGuard

__all__ = ["WAITRESS_MAX_BODY", "create_api_server"]

log = logging.getLogger(__name__)

# Waitress answers bodies this big with 413 itself; Flask checks the 16 KiB limit below it.
WAITRESS_MAX_BODY = 64 * 1024
# Waitress reads a connection while its request runs only with a lookahead above 0; only
# then does it see a client hang up (environ["waitress.client_disconnected"]), so an event
# stream of a closed tab ends within a second instead of at a failed keepalive write.
REQUEST_LOOKAHEAD = 1
_LOG_REFUSALS_EVERY = 1_000  # after the first, one log line per this many refused connections
_OTHER_FILES = 256  # descriptors besides the connections: database, broker session, logs, pipes


class _GuardedChannel(HTTPChannel):  # type: ignore[misc]  # waitress is untyped
    """A connection that gives its address's slot back when it closes."""

    def del_channel(self, map: Any = None) -> None:
        was_open = self._fileno is not None
        super().del_channel(map)
        if was_open:
            self.server.guard.release(self.addr[0])


class _GuardedServer(TcpWSGIServer):  # type: ignore[misc]
    """waitress's TCP server, admitting at most `guard.per_client` connections per address."""

    channel_class = _GuardedChannel

    def __init__(self, application: Any, guard: ConnectionGuard, **kwargs: Any) -> None:
        self.guard = guard
        super().__init__(application, **kwargs)

    def handle_accept(self) -> None:
        try:
            accepted = self.accept()
        except OSError:
            return  # the peer left before we got to it
        if accepted is None:
            return
        conn, addr = accepted
        if not self.guard.admit(addr[0]):
            conn.close()
            if self.guard.refused % _LOG_REFUSALS_EVERY == 1:
                log.warning(
                    "closed a connection from %s: it already has %d open (%d refused in all)",
                    addr[0],
                    self.guard.per_client,
                    self.guard.refused,
                )
            return
        try:
            self.set_socket_options(conn)
        except OSError:
            self.guard.release(addr[0])
            conn.close()
            return
        self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)


def _allow_open_files(needed: int) -> None:
    """Raise the soft limit on open files (often 1,024) towards `needed`, within the hard limit.

    Past the limit accept() fails and waitress would spin on the listening socket.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < needed:
        log.warning("only %d open files allowed (hard limit); connections may be refused before the limit", hard)


def create_api_server(app: Flask, host: str, port: int, threads: int | None = None) -> Any:
    """A waitress server for `app` (not yet running: call its `run()`; `close()` to stop).

    `threads` (default: the app's FOREWARN_API_THREADS) serve everything but event streams;
    each of the FOREWARN_API_MAX_STREAMS streams gets a thread of its own on top, so open
    streams never starve the JSON routes. The server's `guard` counts connections per address.
    """
    config = runtime_of(app).config
    _allow_open_files(config.max_connections + _OTHER_FILES)
    adj = Adjustments(
        host=host,
        port=port,
        threads=(threads or config.threads) + config.max_streams,
        connection_limit=config.max_connections,
        channel_timeout=config.idle_timeout_s,
        cleanup_interval=1,  # idle connections are looked for every second
        asyncore_use_poll=True,
        max_request_body_size=WAITRESS_MAX_BODY,
        channel_request_lookahead=REQUEST_LOOKAHEAD,
        ident="forewarn-api",
        # api/clients.py reads X-Forwarded-For from the trusted proxies (waitress trusts one at most)
        clear_untrusted_proxy_headers=False,
    )
    guard = ConnectionGuard(config.max_connections_per_client, config.trusted_proxies)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    socket_map: dict[int, Any] = {}
    servers = [
        _GuardedServer(app, guard, map=socket_map, dispatcher=dispatcher, adj=adj, sockinfo=sockinfo)
        for sockinfo in adj.listen
    ]
    if len(servers) == 1:
        return servers[0]
    listening = [(server.effective_host, server.effective_port) for server in servers]
    both = MultiSocketServer(socket_map, adj, listening, dispatcher, servers[0].log_info)
    both.guard = guard
    return both
