"""The demo's alert rate, alerts per machine-hour, before and after issue 17's settings.

    python -m bench.alert_rate [--readings 4000] [--models-dir var/models]

The demo's real publishers (`python -m publisher replay` of both replay files, `simulate`)
push their readings, unthrottled, through a real Mosquitto into a real inference worker
(`python -m inference_worker`), and a viewer counts the alerts it opens. Which alerts open
depends on the sequence of readings, not on their timing (no machine goes offline here, so
the stale rule never applies), so a compressed run gives the alerts the demo would give at
its own pace:

    alerts per machine-hour = alerts opened / readings x 3600 x readings per second

"before": as `make up` ran before (1 reading/s, an alert clears after 5 normal readings,
no hysteresis); "after": the demo's settings now (DEMO, the same as the Procfile and
compose.yaml; tests/integration/test_demo_pace.py checks they agree).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import paho.mqtt.client as mqtt

from bench.harness import REPO_ROOT, Services, StatusWatcher, service_env
from broker.local import LocalBroker
from common.mqtt import MqttSettings, connect_client, create_client, wait_connected
from common.settings import ConfigError, run_cli
from contract import Channel

__all__ = ["BEFORE", "DEMO", "Settings", "main"]


@dataclass(frozen=True)
class Settings:
    """How the demo runs: readings per second per machine, and the worker's clearing rule."""

    name: str
    rate: float  # readings per second, each publisher
    clear_after: int  # FOREWARN_ALERT_CLEAR_AFTER
    clear_ratio: float  # FOREWARN_ALERT_CLEAR_RATIO (1.0: no hysteresis)


BEFORE = Settings("before", rate=1.0, clear_after=5, clear_ratio=1.0)
DEMO = Settings("after", rate=0.1, clear_after=20, clear_ratio=0.5)
SIMULATOR_SEED = 17
WAIT_S = 600.0  # for every prediction of one run


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"python -m bench.alert_rate: {message} (see --help)")


def _machines(readings: int) -> dict[str, list[str]]:
    """The demo's machines and their publisher arguments (unthrottled)."""
    return {
        "slave1": ["replay", "data/slave1_data.csv"],
        "slave2": ["replay", "data/slave2_data.csv"],
        "sim-1": ["simulate", "--seed", str(SIMULATOR_SEED), "--count", str(readings)],
    }


class _Tally:
    """A viewer of the machines' predictions and alerts: how many of each arrived."""

    def __init__(self, settings: MqttSettings, topics: list[str]) -> None:
        self.predictions: Counter[str] = Counter()
        self.opened: Counter[tuple[str, str]] = Counter()  # (machine, kind or "early warning")
        self._lock = threading.Lock()
        self.client = create_client(settings, status_topic=None)
        self.client.on_message = self._on_message
        connect_client(self.client, settings, subscriptions=[(t, 1) for t in topics])
        if not wait_connected(self.client, 20):
            raise RuntimeError("viewer could not connect")

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        data = json.loads(message.payload)
        with self._lock:
            if message.topic.endswith(f"/{Channel.PREDICTIONS.value}"):
                self.predictions[data["machine_id"]] += 1
            elif data["state"] == "open":
                kind = "early warning" if data.get("early_warning") else data["kind"]
                self.opened[data["machine_id"], kind] += 1

    def scored(self, machine: str) -> int:
        with self._lock:
            return self.predictions[machine]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _run(settings: Settings, models_dir: Path, readings: int, work: Path) -> tuple[dict[str, int], _Tally]:
    """One compressed run of the demo's machines under `settings`."""
    machines = _machines(readings)
    with LocalBroker.create() as broker:
        env = service_env(broker, models_dir, f"rate-{settings.name}") | {  # Services makes the worker's account
            "FOREWARN_ALERT_CLEAR_AFTER": str(settings.clear_after),
            "FOREWARN_ALERT_CLEAR_RATIO": str(settings.clear_ratio),
        }
        viewer = broker.settings("bench-viewer", broker.add_user("bench-viewer", "viewer"))
        # its own account: the broker binds each account to one client id, one connection at a time
        status = broker.settings("bench-status", broker.add_user("bench-status", "viewer"))
        watcher = StatusWatcher(status, broker.topics.all_service_statuses())
        worker = Services(broker, "inference_worker", [settings.name], env, work / f"worker-{settings.name}.log")
        topics = [broker.topics.predictions(m) for m in machines] + [broker.topics.alerts(m) for m in machines]
        tally = _Tally(viewer, topics)
        publishers: list[subprocess.Popen[bytes]] = []
        try:
            worker.start()
            watcher.wait_online(worker.status_topics()[0], 0)
            for machine, args in machines.items():
                publishers.append(_publisher(broker, machine, args, work))
            sent = _wait_published(publishers, machines)
            deadline = time.monotonic() + WAIT_S
            while any(tally.scored(m) < sent[m] for m in machines) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)  # the last alerts follow their predictions
        finally:
            for process in publishers:
                if process.poll() is None:
                    process.kill()
            worker.stop()
            watcher.close()
            tally.close()
        return {m: tally.scored(m) for m in machines}, tally


def _publisher(broker: LocalBroker, machine: str, args: list[str], work: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "FOREWARN_MQTT_HOST": broker.host,
        "FOREWARN_MQTT_PORT": str(broker.port),
        "FOREWARN_MQTT_CA": str(broker.ca_file),
        "FOREWARN_MQTT_PASSWORD": broker.add_user(machine, "sensor"),
        "FOREWARN_OUTBOX_DIR": str(work / f"outbox-{broker.port}"),
        "FOREWARN_OUTBOX_KEEP_ACKED_S": "0",
    }
    command = [sys.executable, "-m", "publisher", *args, "--machine", machine, "--rate", "0"]
    with (work / f"publisher-{machine}.log").open("ab") as log:
        return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_published(publishers: list[subprocess.Popen[bytes]], machines: dict[str, list[str]]) -> dict[str, int]:
    """Wait for every publisher to finish; the readings each sent (its file's rows, or --count)."""
    for process in publishers:
        if process.wait(timeout=WAIT_S) != 0:
            raise RuntimeError(f"a publisher failed: {process.args!r}")
    return {machine: _rows(args) for machine, args in machines.items()}


def _rows(args: list[str]) -> int:
    if args[0] == "simulate":
        return int(args[args.index("--count") + 1])
    with (REPO_ROOT / args[1]).open() as handle:
        return sum(1 for line in handle if line.strip()) - 1  # the header


def _per_hour(opened: int, readings: int, rate: float) -> float:
    return opened / readings * 3600 * rate if readings else 0.0


def _report(settings: Settings, scored: dict[str, int], tally: _Tally) -> float:
    """Print one run's table; returns its alerts per machine-hour over all machines."""
    print(
        f"\n{settings.name}: {settings.rate:g} reading/s per machine, an alert clears after "
        f"{settings.clear_after} calm readings below {settings.clear_ratio:g} x the threshold"
    )
    head = ("readings", "detected", "predicted", "early w.", "per 1000", "per hour")
    print(f"{'machine':<8} " + " ".join(f"{h:>9}" for h in head))
    total_opened = total_readings = 0
    for machine, readings in scored.items():
        kinds = {kind: tally.opened[machine, kind] for kind in ("detected", "predicted", "early warning")}
        opened = sum(kinds.values())
        total_opened, total_readings = total_opened + opened, total_readings + readings
        cells = [readings, kinds["detected"], kinds["predicted"], kinds["early warning"]]
        rates = [1000 * opened / max(readings, 1), _per_hour(opened, readings, settings.rate)]
        print(f"{machine:<8} " + " ".join([*(f"{c:>9}" for c in cells), *(f"{r:>9.1f}" for r in rates)]))
    overall = _per_hour(total_opened, total_readings, settings.rate)
    per_1000 = 1000 * total_opened / max(total_readings, 1)
    print(f"{'all':<8} {total_readings:>9} " + " " * 29 + f" {per_1000:>9.1f} {overall:>9.1f}")
    return overall


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m bench.alert_rate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=4000, help="simulated readings (the replays send their files)")
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "var" / "models", help="the model to serve")
    args = parser.parse_args(argv)
    if args.readings < 100:
        raise ConfigError("--readings must be at least 100")
    if not (args.models_dir / "current").is_file():
        raise ConfigError(f"--models-dir: no model in {args.models_dir} (python -m training makes one)")
    rates = {}
    with tempfile.TemporaryDirectory(prefix="forewarn-alert-rate-") as folder:
        for settings in (BEFORE, DEMO):
            scored, tally = _run(settings, args.models_dir, args.readings, Path(folder))
            rates[settings.name] = _report(settings, scored, tally)
    before, after = rates[BEFORE.name], rates[DEMO.name]
    print(f"\nalerts per machine-hour: before {before:.1f}, after {after:.1f} ({before / max(after, 1e-9):.1f}x fewer)")
    return 0


if __name__ == "__main__":
    run_cli(main)
