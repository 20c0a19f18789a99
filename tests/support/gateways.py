"""Running gateways as real processes against a test broker, and watching what they cause."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from broker.local import LocalBroker
from contract import Prediction
from tests.support.mqtt import Collector
from tests.support.stack import REPO_ROOT


def gateway_env(broker: LocalBroker, account: str, password: str, state: Path, **extra: str) -> dict[str, str]:
    """The environment a gateway needs to reach the test broker as `account`, with its own var folder."""
    return os.environ | {
        "FOREWARN_MQTT_HOST": broker.host,
        "FOREWARN_MQTT_PORT": str(broker.port),
        "FOREWARN_MQTT_CA": str(broker.ca_file),
        "FOREWARN_MQTT_PASSWORD": password,
        "FOREWARN_VAR_DIR": str(state),
        "FOREWARN_REGISTRY_DIR": str(broker.registry_dir),
        "FOREWARN_PUBLISHER_STATS_S": "1",
        "FOREWARN_PUBLISHER_FLUSH_S": "10",
        **extra,
    }


def run_gateway(args: list[str], env: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run `python -m publisher ARGS` to its end (for the ones that must refuse to start)."""
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def gateway(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m publisher ARGS` running in the background; stopped with SIGTERM (it flushes) at the end."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "publisher", *args], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


def watch_predictions(broker: LocalBroker, machines: list[str], name: str) -> Collector:
    """A viewer of the machines' predictions and statuses.

    Its session persists (5 min): when a test restarts the broker, the predictions the broker
    accepted just before stopping reach the viewer after it, as they would reach the API. A
    clean session would lose them, and a test would blame the gateway for the observer's gap.
    """
    password = broker.add_user(name, "viewer")
    topics = [broker.topics.predictions(m) for m in machines] + [broker.topics.status(m) for m in machines]
    return Collector(broker.settings(name, password, session_expiry_s=300), topics)


def predictions(viewer: Collector, topic: str) -> list[Prediction]:
    return [Prediction.from_json(m.payload) for m in viewer.on_topic(topic)]


def wait_prediction(
    viewer: Collector, topic: str, matches: Callable[[Prediction], bool], timeout: float
) -> Prediction | None:
    """The first prediction on `topic` that `matches`, waiting up to `timeout` s; None if none came."""
    found: list[Prediction] = []

    def seen(_messages: object) -> bool:
        found[:] = [p for p in predictions(viewer, topic) if matches(p)]
        return bool(found)

    viewer.wait_for(seen, timeout)
    return found[0] if found else None


def statuses(viewer: Collector, topic: str) -> list[str]:
    return [json.loads(m.payload)["state"] for m in viewer.on_topic(topic)]


def sequence_numbers(found: list[Prediction]) -> list[int]:
    """The per-run sequence numbers of the readings behind `found` (machine-run-sequence ids)."""
    return sorted({int(p.reading_id.rsplit("-", 1)[1]) for p in found})


def final_counters(log: Path) -> dict[str, int]:
    """The counters a publisher logs when it stops ('stopped: produced=12 ... outbox=0')."""
    line = next(line for line in reversed(log.read_text().splitlines()) if "stopped: produced=" in line)
    pairs = (item.split("=", 1) for item in line.split("stopped: ", 1)[1].split())
    return {key: int(value) for key, value in pairs}


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
    return True


def assert_every_reading_scored(viewer: Collector, topic: str, log: Path) -> None:
    """Every reading the stopped gateway made (its final counters) has a prediction: none lost."""
    counters = final_counters(log)
    assert counters["outbox"] == 0, counters
    produced = counters["produced"]
    expected = list(range(1, produced + 1))
    arrived = wait_until(lambda: sequence_numbers(predictions(viewer, topic)) == expected, 30)
    missing = sorted(set(expected) - set(sequence_numbers(predictions(viewer, topic))))
    assert arrived, f"{len(missing)} of {produced} readings never scored: {missing[:10]}"
