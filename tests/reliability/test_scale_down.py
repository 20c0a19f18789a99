"""R9: three workers under 250 readings/s; one crashes (SIGKILL) and comes back under its id,
one is stopped for good (SIGTERM, as a compose scale-down does). Every reading is stored
exactly once, and the stopped worker's session is gone (nothing strands in it).
"""

from __future__ import annotations

import signal
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broker.local import LocalBroker
from tests.reliability.harness import Pipeline, report, wait_until

pytestmark = pytest.mark.slow

RATE = 250
SECONDS = 40


def _session_present(broker: LocalBroker, name: str, password: str) -> bool:
    """Log in as `name` resuming its session: did the broker still hold one?"""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
    client.tls_set(ca_certs=str(broker.ca_file))
    client.username_pw_set(name, password)
    present: list[bool] = []
    answered = threading.Event()

    def on_connect(_c: mqtt.Client, _u: object, flags: mqtt.ConnectFlags, reason: object, _p: object) -> None:
        present.append(flags.session_present)
        answered.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port, keepalive=10, clean_start=False)  # expiry 0: dropped at logout
    client.loop_start()
    try:
        assert answered.wait(10), f"no CONNACK for {name}"
    finally:
        client.disconnect()
        client.loop_stop()
    return present[0]


def _received(pipeline: Pipeline, worker_id: str) -> list[int]:
    """received= of each stats line the worker logged (one run after another)."""
    text = (pipeline.root / f"worker-{worker_id}.log").read_text()
    return [int(line.split("received=", 1)[1].split()[0]) for line in text.splitlines() if "received=" in line]


def test_r9_three_workers_one_crashes_one_leaves_for_good(pipeline: Pipeline) -> None:
    total = RATE * SECONDS
    for worker_id in ("r9-a", "r9-b", "r9-c"):
        pipeline.start_worker(worker_id)
    publisher = pipeline.start_publisher("r9-press", count=total, rate=RATE)
    assert pipeline.wait_stored(total // 5, 60), "the workers never got going"

    pipeline.stop_worker("r9-a")  # SIGKILL: its session and its share stay with the broker
    time.sleep(5)
    crashed_back = time.monotonic()
    pipeline.start_worker("r9-a")  # the same id resumes the session and scores what waited
    back_after_s = time.monotonic() - crashed_back

    time.sleep(3)
    leaving = pipeline.workers["r9-b"]
    told = time.monotonic()
    pipeline.stop_worker("r9-b", signal.SIGTERM)  # for good: leaves the group, scores what it holds
    stopped_in_s = time.monotonic() - told
    log_b = pipeline.tail(pipeline.root / "worker-r9-b.log", 10**6)
    assert leaving.returncode == 0, log_b
    assert "left the group after scoring" in log_b, log_b
    stored_when_b_left = pipeline.stored_count()

    pipeline.wait_publishers(SECONDS + 60)
    assert pipeline.wait_stored(total, 90), f"only {pipeline.stored_count()} of {total} stored"
    assert wait_until(lambda: pipeline.stored_count() >= total, 5)
    figures = pipeline.outcome()
    b_session = _session_present(pipeline.broker, "inference-worker-r9-b", pipeline.worker_passwords["r9-b"])
    report(
        "R9",
        **figures,
        rate=RATE,
        crashed_worker_back_s=round(back_after_s, 1),
        leaving_worker_stopped_in_s=round(stopped_in_s, 1),
        stored_when_it_left=stored_when_b_left,
        leaving_worker_session_left=b_session,
        received_per_run={w: _received(pipeline, w)[-1:] for w in ("r9-a", "r9-b", "r9-c")},
        publisher=publisher.stats(),
    )
    assert figures["lost"] == 0
    assert figures["stored"] == total
    assert figures["stored_more_than_once"] == 0
    assert b_session is False, log_b  # ended: the broker routes nothing to it any more
