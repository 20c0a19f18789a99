"""Start Forewarn services against a test broker: in-process or as real processes."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from broker.local import LocalBroker
from contract import validate_name
from inference_worker.config import WorkerConfig
from inference_worker.service import Worker
from model.artifact import current_version, load_model
from model.scoring import ModelScorer

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_share_group() -> str:
    """A shared-subscription group of the current test's own.

    A stopped worker's persistent session stays in its group and keeps receiving a share of
    the readings until it expires; on a broker shared by the whole session, a group per test
    keeps one test's old workers from taking another test's readings.
    """
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    return "t" + hashlib.sha256(test.encode()).hexdigest()[:12]


test_share_group.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def worker_config(broker: LocalBroker, models_dir: Path, worker_id: str, **overrides: object) -> WorkerConfig:
    password = broker.add_user("inference-worker", "worker")
    instance = validate_name(f"inference-worker-{worker_id}")
    config = WorkerConfig(
        mqtt=broker.settings(
            "inference-worker", password, client_id=instance, session_expiry_s=3600, receive_maximum=2000
        ),
        topics=broker.topics,
        instance=instance,
        share_group=test_share_group(),
        models_dir=models_dir,
        registry_dir=broker.registry_dir,
        max_batch=256,
        receive_maximum=2000,
        clear_after=5,
        stats_interval_s=5.0,
        model_poll_s=1.0,
    )
    return replace(config, **overrides)  # type: ignore[arg-type]


def start_worker(config: WorkerConfig) -> Worker:
    """A running worker; it serves the AI4I model of `models_dir` when there is one (others load on use)."""
    legacy = current_version(config.models_dir)
    worker = Worker(config, ModelScorer(load_model(config.models_dir)) if legacy else None)
    worker.start()
    return worker


def worker_env(broker: LocalBroker, models_dir: Path, worker_id: str, password: str) -> dict[str, str]:
    """The environment `python -m inference_worker` needs to reach the test broker."""
    return os.environ | {
        "FOREWARN_MQTT_HOST": broker.host,
        "FOREWARN_MQTT_PORT": str(broker.port),
        "FOREWARN_MQTT_CA": str(broker.ca_file),
        "FOREWARN_MQTT_USERNAME": "inference-worker",
        "FOREWARN_MQTT_PASSWORD": password,
        "FOREWARN_WORKER_ID": worker_id,
        "FOREWARN_MODELS_DIR": str(models_dir),
        "FOREWARN_REGISTRY_DIR": str(broker.registry_dir),
        "FOREWARN_SESSION_EXPIRY_S": "3600",
        "FOREWARN_STATS_INTERVAL_S": "2",
        "FOREWARN_SHARE_GROUP": test_share_group(),
    }


def spawn(module: str, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def kill(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGKILL) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        process.wait(timeout=10)


def wait_online(broker: LocalBroker, service: str, timeout: float = 20.0) -> None:
    """Wait for a service's retained status to say online (it has subscribed by then)."""
    from tests.support.mqtt import Collector

    topic = broker.topics.service_status(service)
    watcher = Collector(broker.settings("status-watch", broker.add_user("status-watch", "viewer")), [topic])
    try:
        seen = watcher.wait_for(lambda msgs: any(b'"online"' in m.payload for m in msgs), timeout)
        if not any(b'"online"' in m.payload for m in seen):
            raise TimeoutError(f"{service} did not come online within {timeout}s")
    finally:
        watcher.close()
