"""/api/events through the test client: live events, Last-Event-ID replay, keepalive, caps."""

# response.json is "Any | None" to mypy: indexing it is what these tests do
# mypy: disable-error-code="index"

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from api import create_app, runtime_of
from tests.support.api import alert, feed, prediction, test_config


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    built = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}"))
    yield built
    runtime_of(built).stop()


def _events(chunk: bytes) -> list[dict[str, Any]]:
    """Parse the events of a chunk of text/event-stream."""
    parsed = []
    for block in chunk.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if "data" in fields:
            parsed.append({"id": fields.get("id"), "event": fields["event"], "data": json.loads(fields["data"])})
    return parsed


def _open(app: Flask, **headers: str) -> tuple[TestResponse, Iterator[bytes]]:
    response = app.test_client().get("/api/events", headers=headers, buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    chunks: Iterator[bytes] = iter(response.response)  # type: ignore[arg-type]  # streamed bytes
    first = next(chunks)
    assert first.startswith(b"retry: ")
    return response, chunks


def test_a_stored_prediction_and_alert_are_pushed_live(app: Flask) -> None:
    response, chunks = _open(app)
    try:
        feed(app, predictions=[prediction("m1", "r1")], alerts=[alert("m1", "a1")])
        events = _events(next(chunks))
        kinds = [event["event"] for event in events]
        assert kinds == ["prediction", "status", "alert"]
        assert events[0]["data"]["reading_id"] == "r1"
        assert events[0]["data"]["machine_id"] == "m1"
        assert events[1]["data"]["online"] is True
        assert events[2]["data"]["acked_by"] is None
        ids = [int(event["id"]) for event in events]
        assert ids == sorted(ids)
        assert len(set(ids)) == 3
    finally:
        response.close()


def test_a_reconnecting_client_gets_what_it_missed(app: Flask) -> None:
    feed(app, predictions=[prediction("m1", f"r{n}") for n in range(3)])
    hub = runtime_of(app).hub
    missed_after = hub.last_id - 3  # before the three predictions and the status flip
    response, chunks = _open(app, **{"Last-Event-ID": str(missed_after + 1)})
    try:
        events = _events(next(chunks))
        assert [e["data"].get("reading_id") for e in events if e["event"] == "prediction"] == ["r1", "r2"]
    finally:
        response.close()


def test_a_client_behind_the_buffer_is_told_to_resync(tmp_path: Path) -> None:
    app = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}", event_buffer=2))
    try:
        first = runtime_of(app).hub.last_id
        feed(app, predictions=[prediction("m1", f"r{n}") for n in range(5)])
        response, chunks = _open(app, **{"Last-Event-ID": str(first)})
        text = next(chunks).decode()
        assert text.startswith("event: resync")
        response.close()
    finally:
        runtime_of(app).stop()


def test_an_idle_stream_sends_keepalive_comments(app: Flask) -> None:
    response, chunks = _open(app)
    try:
        assert next(chunks) == b": keepalive\n\n"
    finally:
        response.close()


def test_streams_are_capped_per_client(app: Flask) -> None:
    limit = runtime_of(app).config.max_streams_per_client
    opened = [_open(app)[0] for _ in range(limit)]
    refused = app.test_client().get("/api/events")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"]
    opened.pop().close()
    again, _chunks = _open(app)
    for response in [*opened, again]:
        response.close()
    assert runtime_of(app).streams.open_streams() == 0


def test_a_bad_last_event_id_is_a_400(app: Flask) -> None:
    answer = app.test_client().get("/api/events", headers={"Last-Event-ID": "abc"})
    assert answer.status_code == 400
    assert answer.json["field"] == "Last-Event-ID"
    assert runtime_of(app).streams.open_streams() == 0
