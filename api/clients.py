"""Who the client is: its real address behind a trusted proxy, and a cap on connections per address.

Every per-address limit (event streams, the write rate) keys on ``request.remote_addr``. Behind
a reverse proxy that is the proxy's address for everyone, so when the TCP peer is one of
FOREWARN_API_TRUSTED_PROXIES the client is read from ``X-Forwarded-For`` instead: the
rightmost address there that is not itself a trusted proxy (the one the proxy saw; anything
further left was written by the client and proves nothing). From any other peer the header
is ignored, so it cannot be forged from outside.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["ConnectionGuard", "Network", "RealClientMiddleware", "is_trusted", "parse_networks", "real_client"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PEER_KEY = "forewarn.peer"  # the TCP peer, kept in the WSGI environ when REMOTE_ADDR is replaced
_PROXY_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_BY",
)


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks (``10.0.0.5``, ``172.16.0.0/12``, ``::1``); ValueError names a bad one."""
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{item.strip()!r} is not an IP address or network") from None
    return tuple(networks)


def is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in trusted)


def real_client(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: `peer`, unless `peer` is a trusted proxy that forwarded for someone."""
    if not forwarded_for or not is_trusted(peer, trusted):
        return peer
    for hop in reversed(forwarded_for.split(",")):
        candidate = hop.strip()
        if not _is_address(candidate):
            return peer  # a hop we cannot read: do not guess past it
        if not is_trusted(candidate, trusted):
            return candidate
    return peer  # proxies all the way


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class RealClientMiddleware:
    """WSGI middleware: REMOTE_ADDR becomes the real client (the peer stays in ``forewarn.peer``).

    Proxy headers from a peer that is not a trusted proxy are dropped, so nothing further in
    can be misled by them (waitress would drop them too, but it trusts one address at most).
    """

    def __init__(self, app: Callable[..., Any], trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        environ[PEER_KEY] = peer
        if is_trusted(peer, self.trusted):
            environ["REMOTE_ADDR"] = real_client(peer, environ.get("HTTP_X_FORWARDED_FOR"), self.trusted)
        else:
            for key in _PROXY_HEADERS:
                environ.pop(key, None)
        return self.app(environ, start_response)


class ConnectionGuard:
    """Counts open connections per address; `admit` refuses one over `per_client` from the same address.

    Trusted proxies are exempt: they carry many clients, and limit connections per client themselves.
    """

    def __init__(self, per_client: int, exempt: tuple[Network, ...] = ()) -> None:
        self.per_client = per_client
        self.exempt = exempt
        self.refused = 0
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def admit(self, address: str) -> bool:
        with self._lock:
            if self._open[address] >= self.per_client and not is_trusted(address, self.exempt):
                self.refused += 1
                return False
            self._open[address] += 1
            return True

    def release(self, address: str) -> None:
        with self._lock:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    def open_from(self, address: str) -> int:
        with self._lock:
            return self._open[address]

    def total(self) -> int:
        with self._lock:
            return self._open.total()
