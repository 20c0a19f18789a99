"""S11-S12: what one sensor can do to the others with valid readings: dates and floods.

A real worker process (`python -m inference_worker`), a real Mosquitto, the API in-process
behind waitress. S11 sends readings dated far ahead (refused as `bad_timestamp`) and late
(stored, but the machine's latest reading and the log's head do not move). S12 floods at
10,000 readings/s from one sensor while another sends 20/s: the flood's excess is refused as
`rate_limited`, and every reading of the other sensor is scored within a second. The flood
lasts half a second: a worker receives a few thousand readings/s on a shared 2-core machine
(figure `worker_receive_per_s`), so a longer flood queues the other sensors behind it for
longer (SECURITY.md, "Known limits"); this test is sensitive to other load on the machine.
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from common.mqtt import connect_client, create_client, wait_connected
from contract import Channel, format_ts, parse_ts
from tests.reliability.harness import Pipeline, report, wait_until
from tests.support.api import Served
from tests.support.payloads import encode, reading

FLOOD_RATE = 10_000
FLOOD_COUNT = 5_000  # half a second of it
WORKERS = ("s12",)
QUOTA = {"FOREWARN_SENSOR_QUOTA_RATE": "100", "FOREWARN_SENSOR_QUOTA_BURST": "1000"}


class Watch:
    """An observer recording when each prediction arrives, and every rejection."""

    def __init__(self, line: Pipeline) -> None:
        name = f"watch-{uuid.uuid4().hex[:6]}"  # an account of its own: the broker binds one client id to each
        settings = line.broker.settings(name, line.broker.add_user(name, "viewer"), session_expiry_s=600)
        self.arrived: dict[str, float] = {}
        self.scoring_s: dict[str, float] = {}  # reading id -> scored_at - ts (one clock: this machine's)
        self.rejections: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = create_client(settings, None, max_inflight=1000)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        topics = line.broker.topics
        filters = [(topics.all_of(Channel.PREDICTIONS), 1), (topics.all_of(Channel.REJECTED), 1)]
        connect_client(self.client, settings, subscriptions=filters)
        assert self._subscribed.wait(15), "observer did not subscribe"

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        data = json.loads(message.payload)
        with self._lock:
            if message.topic.endswith("/rejected"):
                self.rejections.append(data)
            else:
                self.arrived.setdefault(data["reading_id"], now)
                delay = parse_ts(data["scored_at"]) - parse_ts(data["ts"])
                self.scoring_s.setdefault(data["reading_id"], delay.total_seconds())

    def rejected(self, reason: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.rejections if r["reason"] == reason]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Sensor:
    """A sensor account's own session, publishing readings with QoS 1."""

    def __init__(self, line: Pipeline, machine_id: str) -> None:
        password = line.broker.add_user(machine_id, "sensor")
        self.topic = line.broker.topics.readings(machine_id)
        self.settings = line.broker.settings(machine_id, password, client_id=machine_id)
        self.client = create_client(self.settings, None)
        connect_client(self.client, self.settings)
        assert wait_connected(self.client, 15), "sensor not connected"

    def send(self, **fields: Any) -> str:
        data = reading(**fields)
        self.client.publish(self.topic, encode(data), qos=1).wait_for_publish(10)
        return str(data["reading_id"])

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def line(pipeline: Pipeline) -> Iterator[tuple[Pipeline, Served, Watch]]:
    assert pipeline.api is not None
    served = Served(pipeline.api, threads=8)
    watch = Watch(pipeline)
    yield pipeline, served, watch
    watch.close()
    served.close()


def _get(served: Served, path: str) -> Any:
    with urllib.request.urlopen(served.base + path, timeout=10) as answer:  # noqa: S310 - our loopback URL
        return json.loads(answer.read())


# ------------------------------------------------------------------------------- S11


def test_s11_a_far_future_reading_is_refused_and_a_late_one_does_not_move_the_latest_state(
    line: tuple[Pipeline, Served, Watch],
) -> None:
    pipeline, served, watch = line
    pipeline.start_worker("s11")  # production defaults: 300 s ahead at most
    machine = f"s11-{uuid.uuid4().hex[:6]}"
    sensor = Sensor(pipeline, machine)
    now = datetime.now(UTC)
    current = sensor.send(ts=format_ts(now))
    ahead = [sensor.send(ts=format_ts(now + timedelta(hours=1))), sensor.send(ts="2100-01-01T00:00:00Z")]
    within = sensor.send(ts=format_ts(now + timedelta(seconds=60)))  # a clock a minute fast is fine
    late = sensor.send(ts=format_ts(now - timedelta(hours=2)))  # from an outbox, after an outage
    assert wait_until(lambda: {current, within, late} <= set(watch.arrived), 30), "predictions missing"
    assert wait_until(lambda: len(watch.rejected("bad_timestamp")) >= 2, 15), "future readings not rejected"
    assert wait_until(lambda: len(pipeline.stored_ids(machine)) >= 3, 15)
    sensor.close()
    stored = set(pipeline.stored_ids(machine))
    summary = _get(served, f"/api/machines/{machine}")
    head = _get(served, "/api/log?limit=1")["items"][0]
    refused = watch.rejected("bad_timestamp")
    report(
        "S11-reading-times",
        stored=sorted(stored),
        refused=[(r["reading_id"], r["detail"]) for r in refused],
        latest=summary["latest"]["reading_id"],
        log_head=head["reading_id"],
        online=summary["online"],
    )
    assert stored == {current, within, late}  # the late one is stored
    assert {r["reading_id"] for r in refused} == set(ahead)
    assert all(r["field"] == "ts" for r in refused)
    assert summary["latest"]["reading_id"] == within  # the newest by time, not the last to arrive
    assert head["reading_id"] == within
    assert summary["counts"]["readings"] == 3
    assert summary["online"] is True  # heard just now, whatever the readings' times


# ------------------------------------------------------------------------------- S12


class Flood:
    """A sensor gone wrong: Mosquitto's own C client (`mosquitto_pub -l`, QoS 1) fed readings
    at FLOOD_RATE from a thread, so the flood costs the machine little besides the broker's
    and the worker's work."""

    def __init__(self, pipeline: Pipeline, machine: str) -> None:
        broker = pipeline.broker
        password = broker.add_user(machine, "sensor")
        command = ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "--cafile", str(broker.ca_file)]
        command += ["-u", machine, "-P", password, "-i", machine, "-V", "mqttv5", "-q", "1", "-M", "200"]
        command += ["-t", broker.topics.readings(machine), "-l"]
        tag = uuid.uuid4().hex[:6]
        self.lines = [encode(reading(reading_id=f"flood-{tag}-{n:06d}")) + b"\n" for n in range(FLOOD_COUNT)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self.rate = 0.0
        self._thread = threading.Thread(target=self._feed, name="flood", daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        started = time.monotonic()
        for start in range(0, len(self.lines), 100):
            time.sleep(max(started + start / FLOOD_RATE - time.monotonic(), 0.0))
            stdin.write(b"".join(self.lines[start : start + 100]))
            stdin.flush()
        self.rate = len(self.lines) / (time.monotonic() - started)
        stdin.close()

    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self) -> int:
        """The exit status of mosquitto_pub once it sent everything."""
        self._thread.join(60)
        return self.process.wait(60)


def _receive_rate(pipeline: Pipeline) -> int:
    """The most readings a worker received between two of its stats lines, a second apart."""
    best = 0
    for worker in WORKERS:
        counts = [int(n) for n in re.findall(r"received=(\d+)", (pipeline.root / f"worker-{worker}.log").read_text())]
        best = max([best, *(b - a for a, b in itertools.pairwise(counts))])
    return best


def _refused_in_logs(pipeline: Pipeline) -> int:
    """The rate_limited readings in the workers' last stats lines, all workers together."""
    total = 0
    for worker in WORKERS:
        counts = re.findall(r"'rate_limited': (\d+)", (pipeline.root / f"worker-{worker}.log").read_text())
        total += int(counts[-1]) if counts else 0
    return total


@pytest.mark.slow
def test_s12_a_sensor_flooding_at_10000_per_s_is_rate_limited_and_another_is_scored_within_a_second(
    line: tuple[Pipeline, Served, Watch],
) -> None:
    pipeline, _served, watch = line
    for worker in WORKERS:
        pipeline.start_worker(worker, env=QUOTA | {"FOREWARN_STATS_INTERVAL_S": "1"})
    flooder, steady = f"s12-flood-{uuid.uuid4().hex[:6]}", f"s12-steady-{uuid.uuid4().hex[:6]}"
    sensor = Sensor(pipeline, steady)
    sent: list[str] = []
    flood = Flood(pipeline, flooder)
    while flood.running():  # 20 readings/s while the flood lasts
        sent.append(sensor.send())
        time.sleep(0.05)
    flood_status = flood.wait()
    for _ in range(20):  # and one more second after it
        sent.append(sensor.send())
        time.sleep(0.05)
    assert wait_until(lambda: set(sent) <= set(watch.arrived), 30), "the steady sensor's predictions are missing"
    per_worker = int(QUOTA["FOREWARN_SENSOR_QUOTA_BURST"]) + int(QUOTA["FOREWARN_SENSOR_QUOTA_RATE"]) * 60
    admitted_max = len(WORKERS) * per_worker
    assert wait_until(lambda: _refused_in_logs(pipeline) + len(pipeline.stored_ids(flooder)) >= FLOOD_COUNT, 60)
    sensor.close()
    latencies = sorted(watch.scoring_s[rid] for rid in sent)  # from the reading's time to its scoring
    stored_flood = len(pipeline.stored_ids(flooder))
    refused = _refused_in_logs(pipeline)
    samples = watch.rejected("rate_limited")
    reported = sum(int(m.group(1)) for r in samples if (m := re.search(r": (\d+) refused", r["detail"])))
    p99 = statistics.quantiles(latencies, n=100, method="inclusive")[98]
    report(
        "S12-sensor-flood",
        flood_sent=FLOOD_COUNT,
        flood_rate=round(flood.rate),
        worker_receive_per_s=_receive_rate(pipeline),
        flood_stored=stored_flood,
        flood_rate_limited=refused,
        rejections_published=len(samples),
        refusals_they_report=reported,
        steady_sent=len(sent),
        steady_scored=len(set(sent) & set(watch.arrived)),
        steady_latency_p50_ms=round(1000 * statistics.median(latencies), 1),
        steady_latency_p99_ms=round(1000 * p99, 1),
        steady_latency_max_ms=round(1000 * latencies[-1], 1),
    )
    assert flood_status == 0
    # The flood is offered at 10,000/s; a loaded CI machine's publisher may manage less. What the
    # test needs is a flood far above the quota (its rate is reported above): at least 20 times it.
    assert flood.rate >= 20 * int(QUOTA["FOREWARN_SENSOR_QUOTA_RATE"]), "the flood was no flood on this machine"
    assert stored_flood + refused == FLOOD_COUNT  # each one either scored or refused and counted
    assert stored_flood <= admitted_max
    assert refused >= FLOOD_COUNT - admitted_max
    assert 1 <= len(samples) <= len(WORKERS) * (2 + 60)  # reported on `rejected`, at most once a second
    assert reported <= refused
    assert set(sent) <= set(pipeline.stored_ids(steady))  # the other sensor: every reading scored
    assert p99 < 1.0
