"""GET /api/events: server-sent events with ids, Last-Event-ID replay and keepalives.

Each open stream holds one server thread, so streams are capped per client address and in
total (429 beyond). While waiting for events a stream checks every half second whether its
client hung up (waitress's `waitress.client_disconnected`), so a closed tab frees its slot
and its thread within about a second rather than at the second failed keepalive write.

Event kinds: `prediction`, `alert`, `status`; plus `resync` (no id) when the events after the
client's Last-Event-ID are no longer all in memory: refetch then.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, request

from api.errors import ApiError
from api.events import Event, EventHub, format_event
from api.runtime import runtime

bp = Blueprint("events", __name__)

RETRY_MS = 3000
# How often a waiting stream looks whether its client is gone: the delay before a closed
# tab's slot is free again, traded against waking each stream's thread this often.
DISCONNECT_CHECK_S = 0.5


@bp.get("/api/events")
def events() -> Response:
    state = runtime()
    last_id = _last_event_id()
    client = request.remote_addr or "unknown"
    if state.hub.closed:  # shutting down: the client comes back to the next process
        raise ApiError(503, "shutting down; reconnect", headers={"Retry-After": "1"})
    if not state.streams.acquire(client):
        raise ApiError(429, "too many open event streams", headers={"Retry-After": "5"})
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            state.streams.release(client)

    response = Response(
        _stream(state.hub, last_id, state.config.keepalive_s, _hung_up_check()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    response.call_on_close(release)
    return response


def _last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "Last-Event-ID must be an event id (an integer)", "Last-Event-ID") from None
    if value < 0:
        raise ApiError(400, "Last-Event-ID must not be negative", "Last-Event-ID")
    return value


def _hung_up_check() -> Callable[[], bool]:
    """True once the client closed the connection (waitress only; other servers: never)."""
    check = request.environ.get("waitress.client_disconnected")
    return check if callable(check) else lambda: False


def _stream(hub: EventHub, last_id: int | None, keepalive_s: float, hung_up: Callable[[], bool]) -> Iterator[str]:
    newest = hub.last_id
    yield f"retry: {RETRY_MS}\n: connected\n\n"
    cursor = newest if last_id is None or last_id > newest else last_id
    if last_id is not None:
        missed, gap = hub.after(cursor)
        if gap or last_id > newest:  # an id from the future: another process, or state lost
            yield f"event: resync\ndata: {json.dumps({'reason': 'events missed; reload'})}\n\n"
        if missed:
            cursor = missed[-1].id
            yield "".join(format_event(event) for event in missed)
    while not hub.closed and not hung_up():
        fresh = _wait_after(hub, cursor, keepalive_s, hung_up)
        if fresh:
            cursor = fresh[-1].id
            yield "".join(format_event(event) for event in fresh)
        elif not hub.closed and not hung_up():
            yield ": keepalive\n\n"
    if hub.closed and not hung_up():  # shutting down: what was published before the close still goes out
        rest, _gap = hub.after(cursor)
        if rest:
            yield "".join(format_event(event) for event in rest)
    # returning ends the response: waitress closes it, which releases the stream's slot


def _wait_after(hub: EventHub, cursor: int, keepalive_s: float, hung_up: Callable[[], bool]) -> list[Event]:
    """Events after `cursor` within `keepalive_s`, waited for in short slices to notice a hang-up."""
    deadline = time.monotonic() + keepalive_s
    while not hub.closed and not hung_up():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        fresh = hub.wait_after(cursor, min(remaining, DISCONNECT_CHECK_S))
        if fresh:
            return fresh
    return []
