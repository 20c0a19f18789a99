"""S10: connection floods against the API served by waitress as in production (issue 14, item 3).

Before: 101 idle sockets from one address stopped every health check (waitress's default
limit of 100 connections, each idle one kept 120 s), and event streams were capped at 8 in
all. Here, with the production limits: 1,000 idle sockets from one address, 50 event streams
from 50 other addresses and a stream of health checks, all at once, on the API that ingests
from a real Mosquitto. Many client addresses come from the loopback range 127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from flask import Flask

from api import runtime_of
from common.mqtt import connect_client, create_client, publish_status, wait_connected
from tests.reliability.harness import Pipeline, report
from tests.support.api import Served

pytestmark = pytest.mark.slow

FLOOD_ADDRESS = "127.0.0.2"
FLOOD_SOCKETS = 1_000
STREAMS = 50
HEALTH_CHECKS = 100


@pytest.fixture
def served(pipeline: Pipeline) -> Iterator[tuple[Pipeline, Served]]:
    """The pipeline's API (production limits) behind waitress; room for a thousand sockets here."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8_192 if hard == resource.RLIM_INFINITY else min(8_192, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    assert pipeline.api is not None
    server = Served(pipeline.api)
    yield pipeline, server
    server.close()


async def _idle_sockets(port: int, count: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """`count` connections from one address that never send a byte."""
    opened = []
    for start in range(0, count, 100):
        opened += await asyncio.gather(
            *(
                asyncio.open_connection("127.0.0.1", port, local_addr=(FLOOD_ADDRESS, 0))
                for _ in range(start, min(start + 100, count))
            )
        )
    return opened


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    with contextlib.suppress(TimeoutError):
        return await asyncio.wait_for(reader.read(1), 0.5) == b""
    return False


async def _open_stream(port: int, source: str) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    status = (await asyncio.wait_for(reader.readline(), 10)).split()
    return (status[1].decode() if len(status) > 1 else "none"), reader, writer


async def _sees(reader: asyncio.StreamReader, needle: bytes, timeout: float) -> bool:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while line := await reader.readline():
                if needle in line:
                    return True
    return False


async def _health(port: int, n: int) -> tuple[int, float]:
    """One health check on a connection of its own (as a monitor makes them): status, seconds."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(f"127.0.4.{n % 250 + 1}", 0))
    writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return int(answer.split()[1]), time.monotonic() - started


async def _flood(line: Pipeline, server: Served, app: Flask) -> dict[str, Any]:
    port, idle_s = server.port, runtime_of(app).config.idle_timeout_s
    machine = f"s10-{uuid.uuid4().hex[:6]}"
    sensor = _sensor(line, machine)  # connected first: paho's select() cannot watch descriptors past 1,024
    flood = await _idle_sockets(port, FLOOD_SOCKETS)
    await asyncio.sleep(0.5)
    closed_at_once = sum(await asyncio.gather(*(_closed_by_server(r) for r, _w in flood)))
    held = server.server.guard.open_from(FLOOD_ADDRESS)
    streams = await asyncio.gather(*(_open_stream(port, f"127.0.3.{n}") for n in range(1, STREAMS + 1)))
    checks = []
    for n in range(HEALTH_CHECKS):
        checks.append(await _health(port, n))
        await asyncio.sleep(0.03)
    await asyncio.to_thread(_announce_online, sensor, line.broker.topics.status(machine))
    delivered = sum(await asyncio.gather(*(_sees(r, machine.encode(), 15) for _s, r, _w in streams)))
    await asyncio.sleep(idle_s + 2.5)
    closed_later = sum(await asyncio.gather(*(_closed_by_server(r) for r, _w in flood)))
    counted_later = server.server.guard.open_from(FLOOD_ADDRESS)
    streams_alive = sum(not r.at_eof() for _s, r, _w in streams)
    for _r, writer in flood:
        writer.close()
    for _s, _r, writer in streams:
        writer.close()
    latencies = sorted(seconds for _status, seconds in checks)
    return {
        "flood_sockets": FLOOD_SOCKETS,
        "closed_at_accept": closed_at_once,
        "held_from_flood_address": held,
        "streams_opened": sum(status == "200" for status, _r, _w in streams),
        "streams_answers": sorted({status for status, _r, _w in streams}),
        "streams_got_the_event": delivered,
        "health_ok": sum(status == 200 for status, _s in checks),
        "health_p50_ms": round(1000 * statistics.median(latencies), 1),
        "health_p99_ms": round(1000 * statistics.quantiles(latencies, n=100, method="inclusive")[98], 1),
        "health_max_ms": round(1000 * latencies[-1], 1),
        "idle_timeout_s": idle_s,
        "flood_closed_after_idle_timeout": closed_later,
        "flood_address_counted_after": counted_later,
        "streams_alive_after_idle_timeout": streams_alive,
    }


def _sensor(line: Pipeline, machine: str) -> mqtt.Client:
    settings = line.broker.settings(machine, line.broker.add_user(machine, "sensor"), client_id=machine)
    client = create_client(settings, None)
    connect_client(client, settings)
    assert wait_connected(client, 15)
    return client


def _announce_online(sensor: mqtt.Client, topic: str) -> None:
    """A sensor's retained "online" status: the API announces the machine on every stream."""
    publish_status(sensor, topic, "online").wait_for_publish(10)
    sensor.disconnect()
    sensor.loop_stop()


def test_s10_1000_idle_sockets_from_one_address_and_50_streams_leave_health_fast(
    served: tuple[Pipeline, Served],
) -> None:
    line, server = served
    assert line.api is not None
    config = runtime_of(line.api).config
    figures = asyncio.run(_flood(line, server, line.api))
    report("S10-connection-flood", **figures)
    per_client = config.max_connections_per_client
    assert figures["held_from_flood_address"] <= per_client  # one address holds a small share
    assert figures["closed_at_accept"] >= FLOOD_SOCKETS - per_client
    assert figures["streams_opened"] == STREAMS  # other addresses still open streams
    assert figures["streams_got_the_event"] == STREAMS
    assert figures["health_ok"] == HEALTH_CHECKS
    assert figures["health_p99_ms"] < 200
    assert figures["flood_closed_after_idle_timeout"] == FLOOD_SOCKETS  # idle ones time out too
    assert figures["flood_address_counted_after"] == 0  # and give their address's slots back
    assert figures["streams_alive_after_idle_timeout"] == STREAMS  # a stream is never idle
