"""Benchmark of the API against the targets of issue 3 (prints figures; never a test).

    .venv/bin/python -m bench.bench_api                 # SQLite in a temp folder, 1,000,000 rows
    .venv/bin/python -m bench.bench_api --rows 200000   # quicker
    .venv/bin/python -m bench.bench_api --database-url postgresql+psycopg2://...   # PostgreSQL
    .venv/bin/python -m bench.bench_api --keep var/bench/api.db   # reuse a filled database

1. ingest: JSON payloads decoded and queued to the batch writer, stored (batched, idempotent),
   then fed to the live state and the event hub: the API's whole ingest path but the broker.
   With Mosquitto available, also end to end: a worker publishing over TLS, QoS 1.
2. fill: 100 machines x N/100 predictions over the last 24 hours (90% normal, 8% predictive,
   2% failure), written through the same store.
3. reads over real HTTP (waitress, keep-alive): GET /api/machines, 24 h history of one machine
   downsampled to 1,000 points, a page of the filtered log (status, machine+status, deep cursor).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from waitress.server import create_server

from api import create_app, runtime_of
from api.config import ApiConfig
from api.decode import prediction_row
from api.writer import BatchWriter, Inbound
from broker.local import LocalBroker, free_port
from common.mqtt import MqttSettings, connect_client, create_client, wait_connected
from contract import Topics, format_ts

EXAMPLES = Path(__file__).resolve().parents[1] / "contract" / "examples"
EXAMPLE = json.loads((EXAMPLES / "prediction.json").read_text())
MACHINES = 100
TARGETS = {"ingest": 5_000.0, "machines": 20.0, "history": 100.0, "log": 50.0}


def payload(machine: int, n: int, ts: datetime, rng: random.Random) -> bytes:
    roll = rng.random()
    status = "failure" if roll < 0.02 else "predictive" if roll < 0.10 else "normal"
    return json.dumps(
        {
            **EXAMPLE,
            "machine_id": f"m{machine:03d}",
            "reading_id": f"m{machine:03d}-{n:07d}",
            "ts": format_ts(ts),
            "status": status,
            "failure_probability": round(rng.random(), 3),
            "values": varied(EXAMPLE["values"], rng, n),
        }
    ).encode()


def varied(values: dict[str, Any], rng: random.Random, n: int) -> dict[str, Any]:
    """The example's values with every number moved a little (and one growing like a counter)."""
    numbers = [name for name, value in values.items() if isinstance(value, int | float)]
    out = {
        name: round(value * (0.9 + 0.2 * rng.random()), 2) if name in numbers else value
        for name, value in values.items()
    }
    if numbers:
        out[numbers[-1]] = float(n % 250)
    return out


def payloads(rows: int, seed: int = 7) -> Iterator[bytes]:
    """`rows` predictions of 100 machines, evenly over the last 24 hours, in time order."""
    rng = random.Random(seed)
    per_machine = rows // MACHINES
    start = datetime.now(UTC) - timedelta(hours=24)
    step = timedelta(hours=24) / max(per_machine, 1)
    for n in range(per_machine):
        for machine in range(MACHINES):
            yield payload(machine, n, start + step * n + timedelta(milliseconds=machine), rng)


def ingest(app: Flask, raw: list[bytes]) -> float:
    """Predictions per second through decode -> writer thread -> commit -> live state."""
    state = runtime_of(app)
    writer = BatchWriter(state.store, state.committed, ack=lambda _batch: None, max_rows=500)
    writer.start()
    started = time.perf_counter()
    for mid, body in enumerate(raw):
        machine = json.loads(body)["machine_id"]
        writer.submit(Inbound("prediction", prediction_row(body, machine), mid, 1, time.monotonic()))
    while writer.stored < len(raw):
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    writer.stop()
    return len(raw) / elapsed


def ingest_over_mqtt(rows: int, folder: Path) -> float:
    """Predictions per second from a worker's publish to the API's commit, through Mosquitto/TLS.

    The worker publishes from another process, so it does not share the API's interpreter lock.
    """
    with LocalBroker.create() as broker:
        worker_settings = broker.settings("bench-worker", broker.add_user("bench-worker", "worker"))
        api_settings = broker.settings("bench-api", broker.add_user("bench-api", "viewer"), session_expiry_s=600)
        config = ApiConfig(
            database_url=f"sqlite:///{folder / 'mqtt.db'}",
            mqtt=api_settings,
            topics=broker.topics,
            housekeeping=False,
        )
        state = runtime_of(create_app(config))
        assert state.ingest is not None
        assert wait_connected(state.ingest.client)
        time.sleep(0.5)  # the API's SUBACK
        publisher = multiprocessing.get_context("spawn").Process(
            target=publish_predictions, args=(worker_settings, broker.topics, rows)
        )
        started = time.perf_counter()
        publisher.start()
        while state.ingest.writer.stored < rows and time.perf_counter() - started < 300:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        stored = state.ingest.writer.stored
        publisher.join(timeout=30)
        state.stop()
    return stored / elapsed


def publish_predictions(settings: MqttSettings, topics: Topics, rows: int) -> None:
    """A worker publishing `rows` predictions with QoS 1 as fast as the broker takes them."""
    worker = create_client(settings, status_topic=None, max_inflight=1000)
    connect_client(worker, settings)
    assert wait_connected(worker)
    info = None
    for body in payloads(rows, seed=3):
        info = worker.publish(topics.predictions(json.loads(body)["machine_id"]), body, qos=1)
    if info is not None:
        info.wait_for_publish(timeout=120)
    worker.disconnect()
    worker.loop_stop()


def fill(app: Flask, rows: int, batch: int = 5_000) -> float:
    state = runtime_of(app)
    started = time.perf_counter()
    pending: list[dict[str, Any]] = []
    for body in payloads(rows):
        pending.append(prediction_row(body, json.loads(body)["machine_id"]))
        if len(pending) == batch:
            state.committed(state.store.write_batch(pending))
            pending = []
    if pending:
        state.committed(state.store.write_batch(pending))
    return rows / (time.perf_counter() - started)


class Http:
    """Timed GETs over one keep-alive connection to a waitress server."""

    def __init__(self, app: Flask) -> None:
        port = free_port()
        self.server = create_server(app, host="127.0.0.1", port=port, threads=8)
        threading.Thread(target=self.server.run, daemon=True).start()
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> tuple[float, Any]:
        started = time.perf_counter()
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status == 200, (path, response.status, body[:200])
        return elapsed, json.loads(body)

    def close(self) -> None:
        self.connection.close()
        time.sleep(0.2)  # let waitress finish with the connection before its trigger closes
        self.server.close()


def timings(run: Callable[[], float], count: int) -> tuple[str, float]:
    run()  # warm up
    samples = sorted(run() for _ in range(count))
    p95 = samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]
    return f"p50 {statistics.median(samples):7.2f} ms   p95 {p95:7.2f} ms", p95


def report(name: str, line_and_p95: tuple[str, float], target_ms: float) -> None:
    line, p95 = line_and_p95
    verdict = "ok" if p95 <= target_ms else "OVER TARGET"
    print(f"{name:<44} {line}   target p95 <= {target_ms:g} ms: {verdict}")


def reads(app: Flask, rows: int) -> None:
    client = Http(app)
    try:
        _ms, machines = client.get("/api/machines")
        print(f"machines listed: {len(machines['machines'])}; counts {machines['counts']}")
        report("GET /api/machines", timings(lambda: client.get("/api/machines")[0], 200), TARGETS["machines"])
        _ms, history = client.get("/api/machines/m042/history?limit=1000")
        print(
            f"history m042: {len(history['points'])} points, downsampled={history['downsampled']} "
            f"(from {rows // MACHINES} stored in 24 h)"
        )
        report(
            "GET history 24 h, limit=1000",
            timings(lambda: client.get("/api/machines/m042/history?limit=1000")[0], 30),
            TARGETS["history"],
        )
        report("GET /api/log (no filter, 50)", timings(lambda: client.get("/api/log")[0], 100), TARGETS["log"])
        report(
            "GET /api/log?status=failure",
            timings(lambda: client.get("/api/log?status=failure")[0], 100),
            TARGETS["log"],
        )
        report(
            "GET /api/log?machine=m042&status=predictive",
            timings(lambda: client.get("/api/log?machine=m042&status=predictive")[0], 100),
            TARGETS["log"],
        )
        cursor = deep_cursor(client)
        report(
            "GET /api/log?status=failure, 41st page",
            timings(lambda: client.get(f"/api/log?status=failure{'&cursor=' + cursor if cursor else ''}")[0], 100),
            TARGETS["log"],
        )
    finally:
        client.close()


def deep_cursor(client: Http, pages: int = 40) -> str:
    """The cursor of the 40th page of failures (or of the last one there is)."""
    cursor = ""
    for _ in range(pages):
        _ms, page = client.get(f"/api/log?status=failure{'&cursor=' + cursor if cursor else ''}")
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    return cursor


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_api", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="stored predictions (default 1,000,000)")
    parser.add_argument("--ingest-rows", type=int, default=50_000, help="predictions for the ingest figure")
    parser.add_argument("--database-url", help="default: SQLite in a temp folder")
    parser.add_argument("--keep", type=Path, help="SQLite file to fill once and reuse")
    parser.add_argument("--mqtt-rows", type=int, default=20_000, help="predictions for the MQTT figure (0: skip)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="forewarn-bench-"))
    print(f"== ingest ({args.ingest_rows:,} predictions through decode, writer thread, commit, live state)")
    ingest_app = create_app(ApiConfig(database_url=f"sqlite:///{folder / 'ingest.db'}", housekeeping=False))
    raw = list(payloads(args.ingest_rows, seed=1))
    rate = ingest(ingest_app, raw)
    runtime_of(ingest_app).stop()
    verdict = "ok" if rate >= TARGETS["ingest"] else "UNDER TARGET"
    print(f"ingest into SQLite: {rate:,.0f} predictions/s   target >= 5,000/s: {verdict}")
    if args.mqtt_rows:
        mqtt_rate = ingest_over_mqtt(args.mqtt_rows, folder)
        print(f"end to end over MQTT/TLS (a worker process on this machine): {mqtt_rate:,.0f} predictions/s")

    url = args.database_url or f"sqlite:///{(args.keep or folder / 'history.db').resolve()}"
    app = create_app(ApiConfig(database_url=url, housekeeping=False))
    stored = runtime_of(app).cache.summaries(runtime_of(app).now_ms())[0]
    if sum(m["counts"]["readings"] for m in stored) < args.rows:
        print(f"== filling {args.rows:,} predictions of {MACHINES} machines over 24 h ({url.split(':')[0]})")
        print(f"bulk fill: {fill(app, args.rows):,.0f} predictions/s (batches of 5,000)")
    print("== reads over HTTP (waitress, keep-alive)")
    reads(app, args.rows)
    runtime_of(app).stop()


if __name__ == "__main__":
    main()
