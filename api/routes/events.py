"""GET /api/events: server-sent events with ids, Last-Event-ID replay and keepalives.

Each open stream holds one server thread, so streams are capped per client address and in
total (429 beyond). Event kinds: `prediction`, `alert`, `status`; plus `resync` (no id) when
the events after the client's Last-Event-ID are no longer all in memory: refetch then.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from flask import Blueprint, Response, request

from api.errors import ApiError
from api.events import EventHub, format_event
from api.runtime import runtime

bp = Blueprint("events", __name__)

RETRY_MS = 3000


@bp.get("/api/events")
def events() -> Response:
    state = runtime()
    last_id = _last_event_id()
    client = request.remote_addr or "unknown"
    if not state.streams.acquire(client):
        raise ApiError(429, "too many open event streams", headers={"Retry-After": "5"})
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            state.streams.release(client)

    response = Response(
        _stream(state.hub, last_id, state.config.keepalive_s),
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


def _stream(hub: EventHub, last_id: int | None, keepalive_s: float) -> Iterator[str]:
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
    while not hub.closed:
        fresh = hub.wait_after(cursor, keepalive_s)
        if fresh:
            cursor = fresh[-1].id
            yield "".join(format_event(event) for event in fresh)
        elif not hub.closed:
            yield ": keepalive\n\n"
