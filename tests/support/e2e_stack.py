"""The whole stack for the browser tests: a real worker and a real API as processes.

    stack = E2eStack.start(broker, models_dir, root, dist)
    sensor = stack.sensor("e2e-press-1")      # a machine's own MQTT user (sensor role)
    sent = sensor.publish(torque_nm=47.5)     # a real reading over MQTT/TLS
    stack.get("/api/log?machine=e2e-press-1")
    stack.stop()

The API (`python -m api`) listens on a free port with a SQLite database in `root`, the
write token `TOKEN`, and serves the built dashboard; the worker (`python -m inference_worker`)
scores with the given model in a share group of its own, so no other worker of the test
session takes its readings.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from playwright.sync_api import Page, expect

from broker.local import LocalBroker, free_port
from common.mqtt import connect_client, create_client, publish_status, wait_connected
from contract import format_ts
from tests.support.mqtt import publish_and_wait
from tests.support.payloads import encode, reading
from tests.support.stack import REPO_ROOT, kill, spawn, wait_online, worker_env

TOKEN = "e2e-token-0123456789abcdef"
DIST = REPO_ROOT / "dashboard" / "dist"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-dashboard.sh"
REQUIRE_ENV = "FOREWARN_TEST_REQUIRE_E2E"  # 1 (or CI set): a missing browser or Node fails, never skips
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

T = TypeVar("T")


class Unavailable(Exception):
    """Something the browser tests need cannot run on this machine (the message says what)."""


def must_run() -> bool:
    """True where the browser tests may not skip (CI, or FOREWARN_TEST_REQUIRE_E2E=1)."""
    return bool(os.environ.get("CI")) or os.environ.get(REQUIRE_ENV) == "1"


def built_dashboard() -> Path:
    """dashboard/dist, built by scripts/build-dashboard.sh when it is missing."""
    if not (DIST / "index.html").is_file():
        done = subprocess.run(
            ["bash", str(BUILD_SCRIPT)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0 or not (DIST / "index.html").is_file():
            said = done.stderr.strip().splitlines()  # the script's one-line reason, e.g. no Node.js
            raise Unavailable(said[-1] if said else f"scripts/build-dashboard.sh did not build {DIST}")
    return DIST


def chromium() -> Path:
    if not CHROMIUM.is_file():
        raise Unavailable(f"{CHROMIUM} is missing: install Debian's chromium package (no browser is downloaded)")
    return CHROMIUM


def wait_for(check: Callable[[], T], timeout: float = 15.0, what: str = "condition") -> T:
    """Poll check() until it returns something truthy; TimeoutError names `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s (last value {value!r})")
        time.sleep(0.1)


class Sensor:
    """One machine publishing readings as its own `sensor` user, with a retained status."""

    def __init__(self, broker: LocalBroker, machine_id: str, profile: str | None = None) -> None:
        self.broker = broker
        self.machine_id = machine_id
        settings = broker.settings(machine_id, broker.add_user(machine_id, "sensor", profile=profile))
        status = broker.topics.status(machine_id)
        self.client: mqtt.Client = create_client(settings, status)
        connect_client(self.client, settings, status_topic=status)
        if not wait_connected(self.client):
            raise RuntimeError(f"sensor {machine_id} could not connect to the broker")

    def publish(self, **overrides: Any) -> dict[str, Any]:
        """Publish one reading (healthy unless overridden) and return what was sent."""
        sent = reading(**overrides)
        code = publish_and_wait(self.client, self.broker.topics.readings(self.machine_id), encode(sent))
        if code != 0:
            raise RuntimeError(f"publishing a reading of {self.machine_id} failed with rc={code}")
        return sent

    def send(self, payload: dict[str, Any]) -> None:
        """Publish a reading exactly as given (any profile's fields)."""
        code = publish_and_wait(self.client, self.broker.topics.readings(self.machine_id), encode(payload))
        if code != 0:
            raise RuntimeError(f"publishing a reading of {self.machine_id} failed with rc={code}")

    def close(self) -> None:
        """Announce offline, as the publisher does (a clean disconnect sends no last will), and leave."""
        publish_status(self.client, self.broker.topics.status(self.machine_id), "offline").wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class E2eStack:
    """A running worker and API on the test broker; `base` is the dashboard's URL."""

    broker: LocalBroker
    root: Path
    port: int
    worker_id: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls, broker: LocalBroker, models_dir: Path, root: Path, dist: Path, api_env: dict[str, str] | None = None
    ) -> E2eStack:
        """`api_env`: settings of the API to change (e.g. FOREWARN_OFFLINE_AFTER_S)."""
        stack = cls(broker, root, free_port(), f"e2e-{uuid.uuid4().hex[:8]}")
        try:
            stack._start_worker(models_dir)
            stack._start_api(dist, api_env or {})
        except BaseException:
            stack.stop()
            raise
        return stack

    def _start_worker(self, models_dir: Path) -> None:
        password = self.broker.add_user(f"inference-worker-{self.worker_id}", "worker")
        env = worker_env(self.broker, models_dir, self.worker_id, password) | {
            "FOREWARN_SHARE_GROUP": f"g{self.worker_id}".replace("-", ""),
            "FOREWARN_VAR_DIR": str(self.root),
            "FOREWARN_LOG_DIR": str(self.root / "logs"),
            "FOREWARN_SESSION_EXPIRY_S": "0",  # the broker forgets the session (and its queue) when we stop
        }
        self.processes.append(spawn("inference_worker", env, self.root / "worker.log"))
        wait_online(self.broker, f"inference-worker-{self.worker_id}", timeout=30)

    def _start_api(self, dist: Path, extra: dict[str, str]) -> None:
        user = f"api-{self.worker_id}"
        env = os.environ | {
            "FOREWARN_MQTT_HOST": self.broker.host,
            "FOREWARN_MQTT_PORT": str(self.broker.port),
            "FOREWARN_MQTT_CA": str(self.broker.ca_file),
            "FOREWARN_MQTT_USERNAME": user,
            "FOREWARN_MQTT_PASSWORD": self.broker.add_user(user, "viewer"),
            "FOREWARN_API_SESSION_EXPIRY_S": "60",  # the minimum: the broker soon forgets the session
            "FOREWARN_TOPIC_PREFIX": self.broker.topics.prefix,
            "FOREWARN_API_PORT": str(self.port),
            "FOREWARN_VAR_DIR": str(self.root),
            "FOREWARN_LOG_DIR": str(self.root / "logs"),
            "FOREWARN_DATABASE_URL": f"sqlite:///{self.root / 'api' / 'forewarn.db'}",
            "FOREWARN_API_TOKEN": TOKEN,
            "FOREWARN_DASHBOARD_DIR": str(dist),
            "FOREWARN_REGISTRY_DIR": str(self.broker.registry_dir),  # the profiles the worker knows
            # Every test page connects from 127.0.0.1, and a closed page's event stream is only
            # released at the stream's next keepalive (15 s): allow more than the default 5.
            "FOREWARN_API_THREADS": "40",
            "FOREWARN_API_MAX_STREAMS": "30",
            "FOREWARN_API_MAX_STREAMS_PER_CLIENT": "30",
        }
        env |= extra  # what this stack changes
        (self.root / "api").mkdir(parents=True, exist_ok=True)
        self.processes.append(spawn("api", env, self.root / "api.log"))
        # The worker's retained status reaching the API proves the API's subscription is live.
        wait_for(self._api_sees_worker, timeout=30, what="the API up and hearing the worker")

    def _api_sees_worker(self) -> bool:
        for process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"a stack process exited (rc={process.returncode}); see {self.root}/*.log")
        try:
            health = self.get("/api/health")
        except (OSError, urllib.error.URLError):
            return False
        service = health.get("services", {}).get(f"inference-worker-{self.worker_id}", {})
        return bool(health.get("broker_connected")) and service.get("state") == "online"

    def get(self, path: str) -> Any:
        """GET a JSON document from the API (HTTP errors included: their body is JSON too)."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as answer:  # noqa: S310 - our loopback URL
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read() or b"{}")

    def sensor(self, machine_id: str, profile: str | None = None) -> Sensor:
        return Sensor(self.broker, machine_id, profile)

    def logs(self) -> str:
        """The tails of the worker's and the API's logs, for a failing test's report."""
        tails = []
        for name in ("worker.log", "api.log"):
            path = self.root / name
            if path.exists():
                tails.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-30:]))
        return "\n".join(tails)

    def stop(self) -> None:
        """SIGTERM (the API stores what it received first), SIGKILL if that takes over 10 s."""
        for process in reversed(self.processes):
            try:
                kill(process, signal.SIGTERM)
            except subprocess.TimeoutExpired:
                kill(process)
        self.processes.clear()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def new_machine_id(role: str) -> str:
    """A machine id no other test (or earlier run on the same broker) uses."""
    return f"e2e-{role}-{uuid.uuid4().hex[:6]}"


def open_live(page: Page, route: str = "/#/") -> None:
    """Open a view of the dashboard and wait for its event stream to be live."""
    page.goto(route)
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")


def seconds_ago(seconds: float) -> str:
    """A reading time `seconds` before now, as the contract writes times."""
    return format_ts(datetime.now(UTC) - timedelta(seconds=seconds))


def percent(value: float) -> str:
    """A probability as the dashboard shows it (JavaScript's Math.round: halves go up)."""
    return f"{math.floor(value * 100 + 0.5)}%"
