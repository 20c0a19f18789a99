"""Fixtures of the reliability and security tests: the whole pipeline on a broker of its own."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from api import create_app, runtime_of
from api.config import ApiConfig
from broker.local import LocalBroker
from contract import Channel
from inference_worker.config import WorkerConfig
from inference_worker.service import Worker
from tests.reliability.harness import Pipeline
from tests.support.mqtt import Collector
from tests.support.stack import start_worker


@pytest.fixture
def pipeline(own_broker: LocalBroker, models_dir: Path, tmp_path: Path) -> Iterator[Pipeline]:
    """API (in-process, SQLite), observer; the test starts workers and publishers."""
    with Pipeline(own_broker, models_dir, tmp_path) as line:
        line.start_api()
        line.start_tally()
        yield line


@pytest.fixture(scope="module")
def pipeline_worker(
    broker: LocalBroker, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Worker, Callable[[str], list[str]], Collector]]:
    """On the session broker: an in-process worker (its own account and share group), the API
    storing to SQLite (`rows_of(machine)` reads it back), a watcher of every rejection."""
    tag = uuid.uuid4().hex[:6]
    name, instance = f"worker-{tag}", f"inference-worker-{tag}"
    settings = broker.settings(name, broker.add_user(name, "worker"), client_id=instance, session_expiry_s=600)
    worker = start_worker(
        WorkerConfig(
            mqtt=settings,
            topics=broker.topics,
            instance=instance,
            share_group=name,
            models_dir=models_dir,
            registry_dir=broker.registry_dir,
            max_batch=256,
            receive_maximum=1000,
            clear_after=5,
            stats_interval_s=5.0,
            model_poll_s=60.0,
        )
    )
    db_path = tmp_path_factory.mktemp("api") / "api.db"
    api_name = f"api-{tag}"
    api = create_app(
        ApiConfig(
            database_url=f"sqlite:///{db_path}",
            topics=broker.topics,
            housekeeping=False,
            mqtt=broker.settings(api_name, broker.add_user(api_name, "viewer"), session_expiry_s=600),
            dashboard_dir=Path("/nonexistent-dashboard"),
        )
    )
    watcher_name = f"watch-{tag}"
    watcher = Collector(
        broker.settings(watcher_name, broker.add_user(watcher_name, "viewer")), [broker.topics.all_of(Channel.REJECTED)]
    )

    def rows_of(machine_id: str) -> list[str]:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
            return [r[0] for r in db.execute("SELECT reading_id FROM predictions WHERE machine_id = ?", (machine_id,))]

    yield worker, rows_of, watcher
    watcher.close()
    runtime_of(api).stop()
    worker.stop()
