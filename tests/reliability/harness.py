"""The whole pipeline on a broker of the test's own, with faults injected from the test.

    with Pipeline(own_broker, models_dir, tmp_path) as line:
        line.start_api()
        line.start_tally()                                       # observer of predictions and statuses
        line.start_worker("w1")                                  # python -m inference_worker
        line.start_publisher("m-1", count=1000, rate=200)        # python -m publisher simulate
        line.wait_publishers(60)                                 # each ends once its outbox drained
        assert line.wait_stored(1000, timeout=60)
        figures = line.outcome()                                 # lost, stored, duplicates delivered
        report("R0", **figures)                                  # printed, and var/reliability/R0.json

The API runs in the test process (its ingest stores into a SQLite file the test reads), the
worker and the publishers as real processes stopped by PID. An observer (`Tally`) counts what
the broker delivers, so duplicates delivered can be compared with rows stored.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import paho.mqtt.client as mqtt
from flask import Flask

from api import create_app, runtime_of
from api.config import ApiConfig
from broker.local import LocalBroker
from common.mqtt import MqttSettings, connect_client, create_client
from contract import Channel
from tests.support.stack import REPO_ROOT, kill, spawn, worker_env

_READING_ID = re.compile(rb'"reading_id":\s*"([^"]+)"')
FIGURES_DIR = Path(os.environ.get("FOREWARN_VAR_DIR", REPO_ROOT / "var")) / "reliability"


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `predicate` until it holds or `timeout` s passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def report(test: str, **figures: object) -> None:
    """Print the measured figures and keep them in var/reliability/<test>.json for the closing note."""
    line = json.dumps({"test": test, **figures}, default=str)
    print(f"\nFIGURES {line}")
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    (FIGURES_DIR / f"{test}.json").write_text(line + "\n")


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for {pid}")


class Tally:
    """An observer session counting deliveries per (machine, reading id) on some channels."""

    def __init__(self, settings: MqttSettings, topics: list[str]) -> None:
        self.counts: dict[str, Counter[str]] = {}
        self.status: list[tuple[float, str, bytes]] = []  # (monotonic time, topic, payload)
        self._lock = threading.Lock()
        self.client = create_client(settings, status_topic=None, max_inflight=1000)
        self.client.on_message = self._on_message
        self._subscribed = threading.Event()
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        connect_client(self.client, settings, subscriptions=[(t, 1) for t in topics])
        if not self._subscribed.wait(15):
            raise RuntimeError("tally did not subscribe within 15 s")

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        payload = bytes(message.payload)
        channel = message.topic.rsplit("/", 1)[-1]
        if channel == Channel.STATUS.value:
            with self._lock:
                self.status.append((time.monotonic(), message.topic, payload))
            return
        found = _READING_ID.search(payload)
        if found:
            with self._lock:
                self.counts.setdefault(channel, Counter())[found.group(1).decode()] += 1

    def delivered(self, channel: Channel) -> Counter[str]:
        with self._lock:
            return Counter(self.counts.get(channel.value, Counter()))

    def statuses(self, topic: str) -> list[tuple[float, str]]:
        """(arrival time, 'online'|'offline') of the status messages on `topic`."""
        with self._lock:
            return [(at, json.loads(p)["state"]) for at, t, p in self.status if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Publisher:
    """One `python -m publisher simulate` process and what it is meant to produce."""

    machine_id: str
    count: int
    outbox: Path
    process: subprocess.Popen[bytes]
    log: Path
    password: str = ""

    def run_id(self) -> int:
        with sqlite3.connect(f"file:{self.outbox}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT value FROM meta WHERE key = 'run_id'").fetchone()[0])

    def expected(self) -> set[str]:
        run = self.run_id()
        return {f"{self.machine_id}-{run}-{n:06d}" for n in range(1, self.count + 1)}

    def pending(self, up_to_id: int | None = None) -> int:
        """Outbox rows still waiting for a PUBACK (optionally only those with id <= `up_to_id`)."""
        query = "SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL"
        params: tuple[int, ...] = ()
        if up_to_id is not None:
            query, params = query + " AND id <= ?", (up_to_id,)
        return _outbox_query(self.outbox, query, params)

    def newest_row(self) -> int:
        return _outbox_query(self.outbox, "SELECT COALESCE(MAX(id), 0) FROM outbox", ())

    def stats(self) -> str:
        lines = [line for line in self.log.read_text(errors="replace").splitlines() if "produced=" in line]
        return lines[-1].split(" INFO ", 1)[-1] if lines else "(no stats logged)"


def _outbox_query(path: Path, query: str, params: tuple[int, ...]) -> int:
    for _attempt in range(20):
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
                return int(db.execute(query, params).fetchone()[0])
        except sqlite3.OperationalError:  # not created yet, or busy for a moment
            time.sleep(0.1)
    raise RuntimeError(f"cannot read {path}")


@dataclass
class Pipeline:
    """Broker (the caller's), API in-process, workers and publishers as processes."""

    broker: LocalBroker
    models_dir: Path
    root: Path
    api_keepalive: int = 30
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    publishers: list[Publisher] = field(default_factory=list)
    api: Flask | None = None
    tally: Tally | None = None

    def __post_init__(self) -> None:
        self.db_path = self.root / "api.db"
        self.worker_passwords: dict[str, str] = {}  # worker id -> its account's password
        self.api_password = self.broker.add_user("api", "viewer")
        self.observer_password = self.broker.add_user("observer", "viewer")

    # -- parts ------------------------------------------------------------------------------

    def start_api(self, **overrides: object) -> Flask:
        settings = self.broker.settings("api", self.api_password, session_expiry_s=3600, keepalive=self.api_keepalive)
        values: dict[str, object] = {"housekeeping": False, "dashboard_dir": Path("/nonexistent-dashboard")}
        config = ApiConfig(
            database_url=f"sqlite:///{self.db_path}",
            mqtt=settings,
            topics=self.broker.topics,
            **(values | overrides),  # type: ignore[arg-type]
        )
        self.api = create_app(config)
        assert wait_until(lambda: runtime_of(self.api).ingest.connected, 20), "API never connected"  # type: ignore[union-attr,arg-type]
        return self.api

    def start_tally(self, channels: tuple[Channel, ...] = (Channel.PREDICTIONS, Channel.STATUS)) -> Tally:
        settings = self.broker.settings("observer", self.observer_password, session_expiry_s=3600)
        topics = [self.broker.topics.all_of(channel) for channel in channels]
        self.tally = Tally(settings, [*topics, self.broker.topics.all_service_statuses()])
        return self.tally

    def worker_env(
        self, worker_id: str, port: int | None = None, extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        if worker_id not in self.worker_passwords:  # one account per worker (broker/accounts.py)
            self.worker_passwords[worker_id] = self.broker.add_user(f"inference-worker-{worker_id}", "worker")
        env = worker_env(self.broker, self.models_dir, worker_id, self.worker_passwords[worker_id])
        env |= {"FOREWARN_LOG_LEVEL": "INFO", "FOREWARN_RECEIVE_MAXIMUM": "1000"}
        if port is not None:
            env["FOREWARN_MQTT_PORT"] = str(port)
        return env | (extra or {})

    def start_worker(
        self, worker_id: str, *, port: int | None = None, wait: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """`python -m inference_worker` with id `worker_id`; `env` adds settings (e.g. a test delay)."""
        process = spawn(
            "inference_worker", self.worker_env(worker_id, port, env), self.root / f"worker-{worker_id}.log"
        )
        self.workers[worker_id] = process
        if wait:
            self.wait_worker_online(worker_id, process)
        return process

    def wait_worker_online(self, worker_id: str, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
        """Wait for the worker's "online" status published after now (it has subscribed by then)."""
        return self.wait_service_online(
            f"inference-worker-{worker_id}", process, self.root / f"worker-{worker_id}.log", timeout
        )

    def wait_service_online(
        self, service: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
    ) -> float:
        """Wait for `service`'s "online" status published after now.

        A service publishes it after its SUBSCRIBE on the same connection, so from then on
        it receives what is published.
        """
        assert self.tally is not None, "start_tally() first: it watches the statuses"
        since = time.monotonic()
        topic = self.broker.topics.service_status(service)

        def online() -> bool:
            assert process.poll() is None, f"{service} exited: {self.tail(log)}"
            return any(at >= since and state == "online" for at, state in self.tally.statuses(topic))  # type: ignore[union-attr]

        assert wait_until(online, timeout, 0.05), f"{service} never came online: {self.tail(log)}"
        return time.monotonic()

    def stop_worker(self, worker_id: str, sig: int = 9) -> None:
        process = self.workers.pop(worker_id)
        kill(process, sig)  # type: ignore[arg-type]

    def start_publisher(
        self,
        machine_id: str,
        count: int,
        rate: float,
        *,
        port: int | None = None,
        keepalive: int = 30,
        keep_acked_s: float = 15.0,
        env: dict[str, str] | None = None,
    ) -> Publisher:
        """`python -m publisher simulate` of `count` readings at `rate` per second (0: unthrottled)."""
        password = self.broker.add_user(machine_id, "sensor")
        outbox_dir = self.root / "outbox"
        settings = (
            os.environ
            | {
                "FOREWARN_MQTT_HOST": self.broker.host,
                "FOREWARN_MQTT_PORT": str(port or self.broker.port),
                "FOREWARN_MQTT_CA": str(self.broker.ca_file),
                "FOREWARN_MQTT_PASSWORD": password,
                "FOREWARN_TOPIC_PREFIX": self.broker.topics.prefix,
                "FOREWARN_OUTBOX_DIR": str(outbox_dir),
                "FOREWARN_PUBLISHER_FLUSH_S": "300",
                "FOREWARN_PUBLISHER_STATS_S": "2",
                "FOREWARN_MQTT_KEEPALIVE": str(keepalive),
                "FOREWARN_OUTBOX_KEEP_ACKED_S": str(keep_acked_s),
                "FOREWARN_LOG_LEVEL": "INFO",
            }
            | (env or {})
        )
        log = self.root / f"publisher-{machine_id}.log"
        seed = str(abs(hash(machine_id)) % 1_000_000)
        process = spawn(
            "publisher",
            settings,
            log,
            "simulate",
            "--machine",
            machine_id,
            "--rate",
            str(rate),
            "--count",
            str(count),
            "--seed",
            seed,
        )
        publisher = Publisher(machine_id, count, outbox_dir / f"{machine_id}.db", process, log, password)
        self.publishers.append(publisher)
        return publisher

    # -- what was stored ------------------------------------------------------------------------

    def stored_ids(self, machine_id: str) -> list[str]:
        if not self.db_path.exists():
            return []
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10) as db:
            rows = db.execute("SELECT reading_id FROM predictions WHERE machine_id = ?", (machine_id,))
            return [row[0] for row in rows]

    def stored_count(self) -> int:
        if not self.db_path.exists():
            return 0
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10) as db:
            return int(db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0])

    def wait_stored(self, total: int, timeout: float) -> bool:
        return wait_until(lambda: self.stored_count() >= total, timeout, 0.25)

    def wait_publishers(self, timeout: float) -> None:
        """Each publisher process ends once its outbox is drained; all must end cleanly."""
        deadline = time.monotonic() + timeout
        for pub in self.publishers:
            try:
                pub.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                raise AssertionError(f"publisher {pub.machine_id} still running: {self.tail(pub.log)}") from None
            assert pub.process.returncode == 0, f"publisher {pub.machine_id} failed: {self.tail(pub.log)}"

    def outcome(self) -> dict[str, int]:
        """Lost, stored and duplicate figures over every publisher, checked against what each produced."""
        expected: set[str] = set()
        for pub in self.publishers:
            expected |= pub.expected()
        stored = Counter(rid for pub in self.publishers for rid in self.stored_ids(pub.machine_id))
        if self.tally is not None:  # the observer may lag behind the API: let it catch up
            wanted = expected & set(stored)
            wait_until(lambda: wanted <= set(self.tally.delivered(Channel.PREDICTIONS)), 30, 0.5)  # type: ignore[union-attr]
        delivered = self.tally.delivered(Channel.PREDICTIONS) if self.tally else Counter()
        delivered_here = sum(n for rid, n in delivered.items() if rid in expected)
        return {
            "expected": len(expected),
            "stored": len(stored),
            "lost": len(expected - set(stored)),
            "unexpected_stored": len(set(stored) - expected),
            "stored_more_than_once": sum(1 for n in stored.values() if n > 1),
            "predictions_delivered": delivered_here,
            "duplicates_delivered": delivered_here - len(set(delivered) & expected),
        }

    @staticmethod
    def tail(path: Path, size: int = 3000) -> str:
        return path.read_text(errors="replace")[-size:] if path.exists() else "(no log)"

    # -- teardown --------------------------------------------------------------------------------

    def close(self) -> None:
        for pub in self.publishers:
            kill(pub.process)
        for process in self.workers.values():
            kill(process)
        if self.tally is not None:
            self.tally.close()
        if self.api is not None:
            runtime_of(self.api).stop()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
