"""Processes the bench drives: publisher and collector clients, and the services under test."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from bench import clients
from bench.procstat import cpu_seconds, peak_rss_mb
from broker.local import LocalBroker
from common.mqtt import MqttSettings, connect_client, create_client, wait_connected
from contract import Status

REPO_ROOT = Path(__file__).resolve().parents[1]
_SPAWN = multiprocessing.get_context("spawn")


def _expect(conn: Connection, timeout: float, what: str) -> Any:
    if not conn.poll(timeout):
        raise RuntimeError(f"{what}: no answer within {timeout:.0f} s")
    answer = conn.recv()
    if isinstance(answer, dict) and "error" in answer:
        raise RuntimeError(f"{what}: {answer['error']}")
    return answer


@dataclass
class Published:
    """When each reading of one publisher run left (index = sequence number)."""

    tag: str
    sent: list[float]
    started: float
    finished: float
    acked: float
    cpu_s: float  # the publisher process's CPU (both of its threads)

    @property
    def rate(self) -> float:
        span = self.finished - self.started
        return len(self.sent) / span if span > 0 else 0.0


def publish(settings: MqttSettings, topic: str, tag: str, count: int, rate: float = 0.0) -> Published:
    """Run one publisher process to completion (every PUBACK received)."""
    ours, theirs = _SPAWN.Pipe()
    process = _SPAWN.Process(
        target=clients.publisher,
        args=(theirs, settings, topic),
        kwargs={"tag": tag, "count": count, "rate": rate},
        daemon=True,
    )
    process.start()
    try:
        _expect(ours, 30, "publisher")
        ours.send("go")
        result = _expect(ours, 60 + (count / rate if rate else count / 1000), "publisher")
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    return Published(tag, result["sent"], result["started"], result["finished"], result["acked"], result["cpu_s"])


class Collector:
    """A subscriber process recording when each reading id arrives."""

    def __init__(self, settings: MqttSettings, filters: list[str], persistent: bool = False) -> None:
        if not persistent:  # a client id of its own, so it never kicks another client off
            settings = replace(settings, client_id=f"{settings.client_id}-{uuid.uuid4().hex[:8]}")
        self.settings, self.filters, self.persistent = settings, filters, persistent
        self.process: Any = None
        self._conn: Connection | None = None

    def start(self) -> None:
        ours, theirs = _SPAWN.Pipe()
        self.process = _SPAWN.Process(
            target=clients.collector, args=(theirs, self.settings, self.filters, self.persistent), daemon=True
        )
        self.process.start()
        self._conn = ours
        _expect(ours, 30, "collector")

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def _ask(self, command: str) -> Any:
        assert self._conn is not None
        self._conn.send(command)
        return _expect(self._conn, 60, f"collector {command}")

    def count(self) -> int:
        return int(self._ask("count"))

    def take(self) -> list[tuple[bytes, float]]:
        return list(self._ask("take"))

    def wait_for(self, count: int, deadline: float) -> int:
        """Poll until `count` unique ids arrived or the monotonic `deadline` passed."""
        got = self.count()
        while got < count and time.monotonic() < deadline:
            time.sleep(0.02)
            got = self.count()
        return got

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(RuntimeError, OSError, EOFError):
            self._ask("stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
        self.process = None


class StatusWatcher:
    """Counts each service's 'online' announcements, to know when one has subscribed."""

    def __init__(self, settings: MqttSettings, topic_filter: str) -> None:
        self._online: Counter[str] = Counter()
        self._changed = threading.Condition()
        settings = replace(settings, client_id=f"bench-status-{uuid.uuid4().hex[:8]}")
        self.client = create_client(settings, status_topic=None)
        self.client.on_message = self._on_message
        connect_client(self.client, settings, subscriptions=[(topic_filter, 1)])
        if not wait_connected(self.client, 20):
            raise RuntimeError("status watcher could not connect")

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if Status.from_json(bytes(message.payload)).state == "online":
            with self._changed:
                self._online[message.topic] += 1
                self._changed.notify_all()

    def online_count(self, topic: str) -> int:
        with self._changed:
            return self._online[topic]

    def wait_online(self, topic: str, before: int, timeout: float = 30.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._online[topic] > before, timeout):
                raise RuntimeError(f"{topic} did not come online within {timeout:.0f} s")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def forget_session(settings: MqttSettings) -> None:
    """End a persistent session and drop what the broker queued for it (clean start)."""
    client = create_client(replace(settings, session_expiry_s=0), status_topic=None)
    connect_client(client, replace(settings, session_expiry_s=0))
    wait_connected(client, 20)
    client.disconnect()
    client.loop_stop()


class Services:
    """One or more service processes (`python -m MODULE`) sharing a shared subscription."""

    def __init__(self, broker: LocalBroker, module: str, ids: list[str], env: dict[str, str], log: Path) -> None:
        self.broker, self.module, self.ids, self.env, self.log = broker, module, ids, env, log
        self.processes: list[subprocess.Popen[bytes]] = []
        self.peak_rss: dict[int, float] = {}

    @property
    def instances(self) -> list[str]:
        return [f"inference-worker-{worker_id}" for worker_id in self.ids]

    def status_topics(self) -> list[str]:
        return [self.broker.topics.service_status(name) for name in self.instances]

    def start(self) -> None:
        with self.log.open("ab") as out:
            for worker_id in self.ids:
                env = self.env | {"FOREWARN_WORKER_ID": worker_id}
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", self.module],
                        cwd=REPO_ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def sample_rss(self) -> None:
        for pid in self.pids:
            self.peak_rss[pid] = max(self.peak_rss.get(pid, 0.0), peak_rss_mb(pid))

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        self.sample_rss()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(sig)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes = []

    def forget(self, settings: MqttSettings) -> None:
        for name in self.instances:
            forget_session(replace(settings, client_id=name))


def service_env(broker: LocalBroker, models_dir: Path, password: str, group: str) -> dict[str, str]:
    """The environment `python -m inference_worker` (or the seed design) needs here."""
    return os.environ | {
        "FOREWARN_MQTT_HOST": broker.host,
        "FOREWARN_MQTT_PORT": str(broker.port),
        "FOREWARN_MQTT_CA": str(broker.ca_file),
        "FOREWARN_MQTT_USERNAME": "inference-worker",
        "FOREWARN_MQTT_PASSWORD": password,
        "FOREWARN_MODELS_DIR": str(models_dir),
        "FOREWARN_REGISTRY_DIR": str(broker.registry_dir),
        "FOREWARN_SESSION_EXPIRY_S": "3600",
        "FOREWARN_SHARE_GROUP": group,
        "FOREWARN_STATS_INTERVAL_S": "5",
        "FOREWARN_MODEL_POLL_S": "60",
        # One synthetic sensor stands for a whole plant here: no per-sensor quota.
        "FOREWARN_SENSOR_QUOTA_RATE": "0",
    }
