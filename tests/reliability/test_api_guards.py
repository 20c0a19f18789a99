"""S5-S8 against the API served by waitress as in production: size, tokens, CORS, floods.

tests/integration/test_api_security.py checks the same guards through Flask's test client;
here they are exercised over real HTTP connections: chunked bodies, every route, a token
that was rotated away, a hostile origin on every path, and floods from many client addresses.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from api import create_app, runtime_of
from api.config import ApiConfig
from tests.reliability.harness import report
from tests.support.api import ALLOWED_ORIGIN, TOKEN, Served, alert, feed, test_config

OLD_TOKEN = "rotated-away-token-0123456789"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
HOSTILE_ORIGINS = [
    "https://evil.example",
    "null",
    f"{ALLOWED_ORIGIN}.evil.example",
    ALLOWED_ORIGIN.replace("https://", "http://"),
    ALLOWED_ORIGIN + ":8443",
    "*",
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Flask, Served]]:
    app = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}", threads=16, max_streams=8))
    server = Served(app, threads=16)
    yield app, server
    runtime_of(app).stop()
    server.close()


def _request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    *,
    source: str = "127.0.0.1",
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    if response.getheader("Content-Type", "").startswith("text/event-stream"):
        conn.close()  # a stream never ends: its headers are all we look at
        return response
    response.read()
    conn.close()
    return response


def _routes(app: Flask) -> list[tuple[str, str]]:
    """(method, path) of every route, arguments filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "x", rule.rule)
        found += [(method, path) for method in sorted(rule.methods or set()) if method not in ("HEAD", "OPTIONS")]
    return found


# ------------------------------------------------------------------------------- S5


def test_s5_a_20_kib_body_gets_413_with_a_length_and_chunked(served: tuple[Flask, Served]) -> None:
    _app, server = served
    body = b'{"by": "' + b"a" * 20_480 + b'"}'
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with_length = _request(server.port, "POST", "/api/alerts/x/ack", auth, body)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/api/alerts/x/ack")
    for name, value in (auth | {"Transfer-Encoding": "chunked"}).items():
        conn.putheader(name, value)
    conn.endheaders()
    for start in range(0, len(body), 4096):
        part = body[start : start + 4096]
        conn.send(f"{len(part):x}\r\n".encode() + part + b"\r\n")
    conn.send(b"0\r\n\r\n")
    chunked = conn.getresponse()
    chunked.read()
    conn.close()
    report("S5-http", content_length_status=with_length.status, chunked_status=chunked.status)
    assert (with_length.status, chunked.status) == (413, 413)


# ------------------------------------------------------------------------------- S6


def test_s6_every_write_route_refuses_a_missing_wrong_or_rotated_token(served: tuple[Flask, Served]) -> None:
    app, server = served
    database = runtime_of(app).config.database_url
    before_rotation = create_app(test_config(database, write_token=OLD_TOKEN))
    try:  # the old token did work, before it was rotated away
        assert (
            before_rotation.test_client()
            .post("/api/alerts/x/ack", json={"by": "ann"}, headers={"Authorization": f"Bearer {OLD_TOKEN}"})
            .status_code
            == 404
        )
    finally:
        runtime_of(before_rotation).stop()
    feed(app, alerts=[alert("m1", "x")])
    writes = [(m, p) for m, p in _routes(app) if m in WRITE_METHODS]
    tokens = {
        "none": None,
        "wrong": "Bearer wrong-token-0123456789",
        "rotated": f"Bearer {OLD_TOKEN}",
        "basic": f"Basic {TOKEN}",
        "query": None,
    }
    answers: Counter[int] = Counter()
    for n, ((method, path), (kind, header)) in enumerate((w, t) for w in writes for t in tokens.items()):
        headers = {"Content-Type": "application/json"} | ({"Authorization": header} if header else {})
        target = f"{path}?access_token={TOKEN}" if kind == "query" else path  # never accepted for writes
        source = f"127.0.1.{n % 250 + 1}"  # many addresses: the rate limit must not hide the token check
        answers[_request(server.port, method, target, headers, b'{"by": "eve"}', source=source).status] += 1
    control = _request(
        server.port,
        "POST",
        "/api/alerts/x/ack",
        {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        b'{"by": "ann"}',
    )
    refused = answers[401] + answers[403]
    report(
        "S6",
        write_routes=len(writes),
        attempts=sum(answers.values()),
        answers=dict(answers),
        refused_share=refused / sum(answers.values()),
        control_status=control.status,
    )
    assert writes
    assert refused == sum(answers.values())  # 100 %
    assert control.status == 200  # the right token still works: the refusals are about the token


# ------------------------------------------------------------------------------- S7


def test_s7_a_hostile_origin_never_gets_an_allow_origin_header(served: tuple[Flask, Served]) -> None:
    app, server = served
    leaks = []
    checked = 0
    for method, path in _routes(app):
        for origin in HOSTILE_ORIGINS:
            preflight = {
                "Origin": origin,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization, content-type",
            }
            for answer in (
                _request(server.port, "OPTIONS", path, preflight),
                _request(server.port, method, path, {"Origin": origin}),
            ):
                checked += 1
                if any(name.lower().startswith("access-control-allow") for name, _ in answer.getheaders()):
                    leaks.append((method, path, origin))
    allowed = _request(
        server.port, "OPTIONS", "/api/alerts/x/ack", {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    report("S7", responses_checked=checked, allow_origin_leaks=len(leaks))
    assert checked > 20
    assert leaks == []
    assert allowed.getheader("Access-Control-Allow-Origin") == ALLOWED_ORIGIN  # CORS works for the real one


# ------------------------------------------------------------------------------- S8


class Reader:
    """Another client reading /api/machines over one kept-alive connection, timing each answer."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=("127.0.0.250", 0))
        self.latencies: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Reader:
        self._read()  # connected before any flood: its connection is already accepted
        self._thread.start()
        return self

    def _read(self) -> None:
        started = time.monotonic()
        try:
            self.conn.request("GET", "/api/machines")
            response = self.conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
        if ok:
            self.latencies.append(time.monotonic() - started)
        else:
            self.failures += 1

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._read()

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
        self.conn.close()

    def p95_ms(self) -> float:
        return round(1000 * statistics.quantiles(self.latencies, n=20)[-1], 1)


def test_s8_a_write_flood_from_one_client_is_throttled(served: tuple[Flask, Served]) -> None:
    app, server = served
    config: ApiConfig = runtime_of(app).config
    rate, seconds = 100, 5
    answers: Counter[int] = Counter()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with Reader(server.port) as reader:
        start = time.monotonic()
        for n in range(rate * seconds):
            time.sleep(max(start + n / rate - time.monotonic(), 0.0))
            conn.request("POST", "/api/alerts/x/ack", body=b'{"by": "bot"}', headers=headers)
            response = conn.getresponse()
            response.read()
            answers[response.status] += 1
    conn.close()
    allowed = round(config.write_burst + config.write_rate_per_s * seconds)  # what the limiter lets through
    excess = rate * seconds - allowed
    report(
        "S8-writes",
        sent=rate * seconds,
        answers=dict(answers),
        excess=excess,
        throttled_share_of_excess=round(answers[429] / excess, 3),
        other_reads=len(reader.latencies),
        other_reads_p95_ms=reader.p95_ms(),
    )
    assert answers[429] >= 0.9 * excess
    assert reader.failures == 0
    assert reader.p95_ms() < 500


async def _open_stream(port: int, source: str, held: list[asyncio.StreamWriter]) -> str:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), 20)
        writer.write(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        status = (await asyncio.wait_for(reader.readline(), 20)).split()
    except (OSError, TimeoutError):
        return "refused"
    if status[1:2] == [b"200"]:
        held.append(writer)  # an open stream: keep it for the whole flood
        return "200"
    writer.close()
    return status[1].decode() if len(status) > 1 else "refused"


async def _stream_flood(port: int, count: int, hold_s: float) -> tuple[Counter[str], float]:
    """Open `count` streams at once from many client addresses; keep the accepted ones `hold_s`."""
    held: list[asyncio.StreamWriter] = []
    sources = [f"127.0.{2 + n // 200}.{n % 200 + 1}" for n in range(count)]  # many clients, not one
    started = time.monotonic()
    outcomes = await asyncio.gather(*(_open_stream(port, source, held) for source in sources))
    answered_s = time.monotonic() - started
    await asyncio.sleep(hold_s)
    for writer in held:
        writer.close()
    return Counter(outcomes), answered_s


def test_s8_500_event_streams_at_once_are_capped(served: tuple[Flask, Served]) -> None:
    app, server = served
    attempts = 500
    cap = runtime_of(app).config.max_streams
    with Reader(server.port) as reader:
        outcomes, answered_s = asyncio.run(_stream_flood(server.port, attempts, hold_s=1.0))
    excess = attempts - cap
    refused = attempts - outcomes["200"]
    report(
        "S8-streams",
        attempts=attempts,
        cap=cap,
        outcomes=dict(outcomes),
        all_answered_s=round(answered_s, 2),
        excess=excess,
        refused_share_of_excess=round(refused / excess, 3),
        other_reads=len(reader.latencies),
        other_reads_p95_ms=reader.p95_ms(),
    )
    assert outcomes["200"] <= cap
    assert refused >= 0.9 * excess
    assert reader.failures == 0
    assert reader.p95_ms() < 500
