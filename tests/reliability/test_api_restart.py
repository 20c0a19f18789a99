"""R8: the API restarted twice while 10 dashboards follow its event stream; none misses a prediction.

The API runs as a real process (`python -m api`) on a fixed port; each client is an
EventSource-like reader that reconnects with Last-Event-ID. Every prediction the API stored
must have reached every client as an event, without a `resync` (which would mean "reload").
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.local import LocalBroker, free_port
from tests.reliability.harness import Pipeline, report, wait_until
from tests.reliability.sse import EventStreamClient
from tests.support.stack import kill, spawn

pytestmark = pytest.mark.slow

CLIENTS = 10
RESTARTS = 2


class ApiProcess:
    """`python -m api` against the test broker, restartable on the same port and database."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.port = free_port()
        self.log = pipeline.root / "api.log"
        broker = pipeline.broker
        self.env = os.environ | {
            "FOREWARN_DATABASE_URL": f"sqlite:///{pipeline.db_path}",
            "FOREWARN_API_PORT": str(self.port),
            "FOREWARN_API_THREADS": "24",
            "FOREWARN_API_MAX_STREAMS": "16",
            "FOREWARN_API_MAX_STREAMS_PER_CLIENT": "16",
            "FOREWARN_DASHBOARD_DIR": "/nonexistent-dashboard",
            "FOREWARN_MQTT_HOST": broker.host,
            "FOREWARN_MQTT_PORT": str(broker.port),
            "FOREWARN_MQTT_CA": str(broker.ca_file),
            "FOREWARN_MQTT_USERNAME": "api",
            "FOREWARN_MQTT_PASSWORD": pipeline.api_password,
            "FOREWARN_TOPIC_PREFIX": broker.topics.prefix,
            "FOREWARN_LOG_LEVEL": "INFO",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = spawn("api", self.env, self.log)
        assert wait_until(self._healthy, 60, 0.1), f"API not healthy: {Pipeline.tail(self.log)}"

    def _healthy(self) -> bool:
        import http.client

        assert self.process is not None
        assert self.process.poll() is None, Pipeline.tail(self.log)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/api/health")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            kill(self.process, signal.SIGTERM)
            self.process = None


@pytest.fixture
def api_process(own_broker: LocalBroker, models_dir: Path, tmp_path: Path) -> Iterator[tuple[Pipeline, ApiProcess]]:
    with Pipeline(own_broker, models_dir, tmp_path) as line:
        line.start_tally()
        api = ApiProcess(line)
        try:
            yield line, api
        finally:
            api.stop()


def test_r8_api_restarted_under_ten_event_stream_clients(api_process: tuple[Pipeline, ApiProcess]) -> None:
    pipeline, api = api_process
    api.start()
    pipeline.start_worker("r8")
    clients = [EventStreamClient(api.port) for _ in range(CLIENTS)]
    try:
        assert wait_until(lambda: all(c.seen.connects for c in clients), 30), "clients never connected"
        publisher = pipeline.start_publisher("r8-saw", count=2_000, rate=100)
        restarts_s = []
        for _restart in range(RESTARTS):
            time.sleep(6)
            stopped = time.monotonic()
            api.stop()
            api.start()
            restarts_s.append(round(time.monotonic() - stopped, 1))
        pipeline.wait_publishers(120)
        assert pipeline.wait_stored(publisher.count, 120), f"only {pipeline.stored_count()} stored"
        stored = set(pipeline.stored_ids("r8-saw"))
        wait_until(lambda: all(stored <= c.predictions() for c in clients), 30, 0.5)
        missed = [len(stored - c.predictions()) for c in clients]
        figures = pipeline.outcome()
        report(
            "R8",
            **figures,
            clients=CLIENTS,
            restarts=RESTARTS,
            api_down_s=restarts_s,
            events_missed_per_client=missed,
            resyncs=[c.seen.resyncs for c in clients],
            resumed_with_last_event_id=[c.seen.resumed_with_id for c in clients],
            prediction_events_per_client=[c.seen.prediction_events for c in clients],
        )
        assert figures["lost"] == 0
        assert all(c.seen.resumed_with_id >= RESTARTS for c in clients), "clients did not resume with an id"
        assert missed == [0] * CLIENTS, f"events missed per client: {missed}"
        assert [c.seen.resyncs for c in clients] == [0] * CLIENTS, "a client was told to reload"
    finally:
        for client in clients:
            client.close()
