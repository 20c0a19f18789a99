"""Request guards: Host, body size, write rate limit, bearer tokens, CORS, response headers.

Order of the checks on each request: the Host header (400 unless it names this API: a page
of another site reaching it through a DNS name rebound to this machine sends its own name),
size (413), then for writes the rate limit (429, so token guessing is throttled too), the
write switch (503 when no token is configured) and the token (401); for reads the token only
when FOREWARN_API_READ_TOKEN_REQUIRED is set.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable

from flask import Flask, Request, Response, request

from api.config import ApiConfig
from api.errors import ApiError

__all__ = ["CONTENT_SECURITY_POLICY", "MAX_BODY_BYTES", "RateLimiter", "host_name", "install_guards"]

MAX_BODY_BYTES = 16 * 1024
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Routes anyone may read even when reads need the token: probes and the API's description.
OPEN_PATHS = frozenset({"/api/health", "/api/openapi.json"})
# Browsers cannot set headers on EventSource or on a download link: these accept ?access_token=.
QUERY_TOKEN_PATHS = frozenset({"/api/events", "/api/export.csv", "/api/verdicts.csv"})
_CORS_HEADERS = "Authorization, Content-Type, Last-Event-ID"
# The built dashboard loads its script and style sheet from /assets/, its icon is a data: URL,
# and it talks only to this origin (fetch and EventSource): nothing else may load or run.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_MAX_TRACKED_CLIENTS = 10_000


class RateLimiter:
    """Token bucket per client: `rate` requests per second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds to wait before retrying."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                self._forget_idle(now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        # clients whose bucket has refilled carry no state worth keeping
        if len(self._buckets) > _MAX_TRACKED_CLIENTS:
            full_after = self.burst / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


def install_guards(app: Flask, config: ApiConfig, limiter: RateLimiter) -> None:
    """Register the before/after request hooks on `app`."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    allowed_hosts = frozenset(config.allowed_hosts)

    @app.before_request
    def _guard() -> None:
        _check_host(allowed_hosts, request)
        if request.method == "OPTIONS" or request.routing_exception is not None:
            return  # CORS preflight (answered by Flask, decorated below), or a 404/405 to come
        _check_size(request)
        if request.method in WRITE_METHODS:
            _check_rate(limiter, request)
            _check_write_token(config, request)
        elif config.read_token_required and request.path.startswith("/api/") and request.path not in OPEN_PATHS:
            _check_token(config.write_token, _presented_token(request, allow_query=request.path in QUERY_TOKEN_PATHS))

    @app.after_request
    def _decorate(response: Response) -> Response:
        _add_cors(config, request, response)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.path.startswith("/api/") and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response


def host_name(header: str) -> str | None:
    """The host of a Host header, lowercased, without port, brackets or a final dot; None if malformed."""
    text = header.strip().lower()
    if text.startswith("["):
        name, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:]
    else:
        name, _colon, port = text.partition(":")
    if port and not (port.isascii() and port.isdigit() and len(port) <= 5):
        return None
    return name.rstrip(".") or None


def _check_host(allowed: frozenset[str], req: Request) -> None:
    name = host_name(req.headers.get("Host", ""))
    if name not in allowed:
        raise ApiError(400, "this API does not answer to that Host name (see FOREWARN_API_ALLOWED_HOSTS)", "Host")


def _check_size(req: Request) -> None:
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")


def _check_rate(limiter: RateLimiter, req: Request) -> None:
    wait = limiter.take(req.remote_addr or "unknown")
    if wait > 0:
        raise ApiError(429, "too many write requests; slow down", headers={"Retry-After": str(math.ceil(wait))})


def _check_write_token(config: ApiConfig, req: Request) -> None:
    if not config.write_token:
        raise ApiError(503, "writes disabled: set FOREWARN_API_TOKEN")
    _check_token(config.write_token, _presented_token(req, allow_query=False))


def _presented_token(req: Request, allow_query: bool) -> str | None:
    header = req.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return req.args.get("access_token") if allow_query else None


def _check_token(expected: str | None, presented: str | None) -> None:
    challenge = {"WWW-Authenticate": 'Bearer realm="forewarn"'}
    if presented is None:
        raise ApiError(401, "missing bearer token (Authorization: Bearer TOKEN)", headers=challenge)
    if expected is None or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise ApiError(401, "invalid bearer token", headers=challenge)


def _add_cors(config: ApiConfig, req: Request, response: Response) -> None:
    origin = req.headers.get("Origin")
    response.vary.add("Origin")
    if not origin or origin not in config.cors_origins:
        return  # same-origin or a stranger: no CORS header at all
    response.headers["Access-Control-Allow-Origin"] = origin
    if req.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
