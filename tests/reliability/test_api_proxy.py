"""S14: the API behind Debian's nginx with docs/nginx-forewarn.conf (issue 14, item 7).

Behind a proxy every client arrives from the proxy's address, so per-address limits would act
on everyone together. With the proxy in FOREWARN_API_TRUSTED_PROXIES they key on the client
nginx names in X-Forwarded-For: each client gets its own event streams and write budget, a
client cannot dodge its limit by writing the header itself, and nobody else can use the header
at all. The proxy also takes a flood of 1,000 idle sockets while health checks and event
streams pass through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import resource
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from api.clients import parse_networks
from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, publish_status, wait_connected
from tests.reliability.harness import Pipeline, report
from tests.support.api import Served
from tests.support.nginx import Nginx, NginxMissing

REQUIRE_ENV = "FOREWARN_TEST_REQUIRE_NGINX"


@pytest.fixture
def proxied(own_broker: LocalBroker, models_dir: Path, tmp_path: Path) -> Iterator[tuple[Pipeline, Served, Nginx]]:
    """The API (trusting 127.0.0.1, where nginx connects from) behind waitress, nginx in front."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8_192 if hard == resource.RLIM_INFINITY else min(8_192, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    with Pipeline(own_broker, models_dir, tmp_path) as line:
        app = line.start_api(trusted_proxies=parse_networks(["127.0.0.1"]))
        line.start_tally()
        server = Served(app)
        try:
            proxy = Nginx(server.port).start()
        except NginxMissing as exc:
            server.close()
            if os.environ.get("CI") or os.environ.get(REQUIRE_ENV) == "1":
                pytest.fail(str(exc))
            pytest.skip(str(exc))
        yield line, server, proxy
        proxy.stop()
        server.close()


async def _stream(
    port: int, source: str, forwarded_for: str | None = None
) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    forged = f"X-Forwarded-For: {forwarded_for}\r\n" if forwarded_for else ""
    request = f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{forged}\r\n"
    writer.write(request.encode())
    status = (await asyncio.wait_for(reader.readline(), 10)).split()
    return (status[1].decode() if len(status) > 1 else "none"), reader, writer


async def _sees(reader: asyncio.StreamReader, needle: bytes, timeout: float) -> float | None:
    """When (monotonic) a line holding `needle` arrives; None if not within `timeout`."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while line := await reader.readline():
                if needle in line:
                    return time.monotonic()
    return None


def _sensor(line: Pipeline, machine: str) -> mqtt.Client:
    settings = line.broker.settings(machine, line.broker.add_user(machine, "sensor"), client_id=machine)
    client = create_client(settings, None)
    connect_client(client, settings)
    assert wait_connected(client, 15)
    return client


def _announce(sensor: mqtt.Client, topic: str) -> None:
    publish_status(sensor, topic, "online").wait_for_publish(10)
    sensor.disconnect()
    sensor.loop_stop()


async def _streams_per_client(line: Pipeline, server: Served, proxy: Nginx) -> dict[str, object]:
    per_client = 5  # FOREWARN_API_MAX_STREAMS_PER_CLIENT's default
    machine = f"s14-{uuid.uuid4().hex[:6]}"
    sensor = _sensor(line, machine)
    first = [await _stream(proxy.port, "127.0.0.2") for _ in range(per_client)]
    over = await _stream(proxy.port, "127.0.0.2")
    forged = await _stream(proxy.port, "127.0.0.2", forwarded_for="127.0.0.77")  # a header of its own
    other = await _stream(proxy.port, "127.0.0.3")
    direct = [await _stream(server.port, "127.0.0.5", forwarded_for=f"10.9.9.{n}") for n in range(per_client + 1)]
    announced = time.monotonic()
    await asyncio.to_thread(_announce, sensor, line.broker.topics.status(machine))
    seen = await _sees(other[1], machine.encode(), 10)
    through = None if seen is None else seen - announced
    opened = [*first, over, forged, other, *direct]
    for _status, _reader, writer in opened:
        writer.close()
    return {
        "client_a_first_5": [status for status, _r, _w in first],
        "client_a_sixth": over[0],
        "client_a_sixth_with_forged_xff": forged[0],
        "client_b_through_the_same_proxy": other[0],
        "direct_with_forged_xff": [status for status, _r, _w in direct],
        "event_through_proxy_s": None if through is None else round(through, 3),
    }


def test_s14_behind_nginx_stream_limits_key_on_the_real_client_and_cannot_be_forged(
    proxied: tuple[Pipeline, Served, Nginx],
) -> None:
    line, server, proxy = proxied
    figures = asyncio.run(_streams_per_client(line, server, proxy))
    report("S14-proxy-streams", **figures)
    assert figures["client_a_first_5"] == ["200"] * 5
    assert figures["client_a_sixth"] == "429"
    assert figures["client_a_sixth_with_forged_xff"] == "429"  # nginx appends the real address
    assert figures["client_b_through_the_same_proxy"] == "200"  # not counted with client A
    assert figures["direct_with_forged_xff"] == ["200"] * 5 + ["429"]  # the header is ignored from others
    through = figures["event_through_proxy_s"]
    assert isinstance(through, float)  # the event came: the proxy does not buffer the stream
    assert through < 2.0


def _write(port: int, source: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    conn.request("POST", "/api/alerts/x/ack", body=b'{"by": "eve"}', headers={"Content-Type": "application/json"})
    status = conn.getresponse().status
    conn.close()
    return status


def test_s14_behind_nginx_the_write_rate_limit_is_per_client(proxied: tuple[Pipeline, Served, Nginx]) -> None:
    _line, _server, proxy = proxied
    first = [_write(proxy.port, "127.0.0.2") for _ in range(40)]  # a burst of 20 is allowed
    other = _write(proxy.port, "127.0.0.3")
    report("S14-proxy-writes", client_a=dict(Counter(first)), client_b=other)
    assert 429 in first
    assert other != 429  # 503 here (no write token configured): past the rate limit


async def _idle_flood(proxy: Nginx, count: int) -> dict[str, object]:
    idle = []
    for start in range(0, count, 100):
        idle += await asyncio.gather(
            *(
                asyncio.open_connection("127.0.0.1", proxy.port, local_addr=("127.0.0.2", 0))
                for _ in range(start, min(start + 100, count))
            )
        )
    latencies, statuses = [], []
    for n in range(100):
        started = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port, local_addr=(f"127.0.4.{n + 1}", 0))
        writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        latencies.append(time.monotonic() - started)
        statuses.append(int(answer.split()[1]))
        await asyncio.sleep(0.02)
    streams = [await _stream(proxy.port, f"127.0.3.{n}") for n in range(1, 11)]
    for _status, _reader, writer in streams:
        writer.close()
    for _reader, writer in idle:
        writer.close()
    return {
        "idle_sockets": count,
        "health_ok": statuses.count(200),
        "health_p50_ms": round(1000 * statistics.median(latencies), 1),
        "health_p99_ms": round(1000 * statistics.quantiles(latencies, n=100, method="inclusive")[98], 1),
        "streams_from_others": [status for status, _r, _w in streams],
    }


def test_s14_nginx_takes_1000_idle_sockets_while_health_and_streams_pass(
    proxied: tuple[Pipeline, Served, Nginx],
) -> None:
    _line, _server, proxy = proxied
    figures = asyncio.run(_idle_flood(proxy, 1_000))
    report("S14-proxy-idle-flood", **figures)
    assert figures["health_ok"] == 100
    assert isinstance(figures["health_p99_ms"], float)
    assert figures["health_p99_ms"] < 200
    assert figures["streams_from_others"] == ["200"] * 10
