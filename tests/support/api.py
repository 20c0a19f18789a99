"""Helpers for the API's tests: a fresh database per test on each engine, payloads, feeding.

`database_url` is parametrized over SQLite (a temp file) and PostgreSQL (a schema of its own
in the server named by FOREWARN_TEST_POSTGRES_URL; skipped when that is unset). Import the
fixtures into a test module with ``from tests.support.api import database_url_fixture`` (and
``api_app_fixture``); tests then ask for ``database_url`` / ``api_app``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from api import create_app, runtime_of
from api.config import ApiConfig
from api.decode import alert_row, prediction_row
from api.rows import ts_to_ms
from api.server import create_api_server
from api.store import BatchResult
from contract import format_ts

POSTGRES_ENV = "FOREWARN_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "FOREWARN_TEST_REQUIRE_POSTGRES"  # CI sets 1: no silent skip there
TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ALLOWED_ORIGIN = "https://dashboard.example"
EXAMPLES = Path(__file__).resolve().parents[2] / "contract" / "examples"
V1_EXAMPLES = Path(__file__).resolve().parent / "examples"


@pytest.fixture(name="database_url", params=["sqlite", "postgresql"])
def database_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the parametrized engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"{REQUIRE_POSTGRES_ENV}=1 but {POSTGRES_ENV} is not set")
        pytest.skip(f"{POSTGRES_ENV} is not set (see scripts/ci-postgres.sh)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_config(database_url: str, **overrides: Any) -> ApiConfig:
    settings: dict[str, Any] = {
        "database_url": database_url,
        "write_token": TOKEN,
        "cors_origins": (ALLOWED_ORIGIN,),
        "housekeeping": False,
        "keepalive_s": 0.2,
        "dashboard_dir": Path("/nonexistent-dashboard"),
    }
    return ApiConfig(**{**settings, **overrides})


test_config.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture(name="api_app")
def api_app_fixture(database_url: str) -> Iterator[Flask]:
    """The API on a fresh database, without MQTT and without background chores."""
    app = create_app(test_config(database_url))
    yield app
    runtime_of(app).stop()


def iso(moment: datetime) -> str:
    return format_ts(moment)


def ago(seconds: float) -> str:
    return iso(datetime.now(UTC) - timedelta(seconds=seconds))


_test_now = [datetime.now(UTC).replace(microsecond=0)]


@pytest.fixture(name="_fresh_now", autouse=True)
def fresh_now_fixture() -> None:
    """One "now" per test (import it to use it): readings stay recent however long the suite ran."""
    _test_now[0] = datetime.now(UTC).replace(microsecond=0)


def test_now() -> datetime:
    """The current test's "now" (whole seconds), set by the `_fresh_now` fixture."""
    return _test_now[0]


test_now.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def at(seconds_ago: float) -> str:
    """A timestamp `seconds_ago` before the current test's "now"."""
    return iso(test_now() - timedelta(seconds=seconds_ago))


def prediction(
    machine_id: str, reading_id: str, ts: str | None = None, values: dict[str, Any] | None = None, **changes: Any
) -> dict[str, Any]:
    """A Prediction payload (version 2, from contract/examples) for `machine_id`; `values` patch its values."""
    base: dict[str, Any] = json.loads((EXAMPLES / "prediction.json").read_text())
    base.update(
        machine_id=machine_id,
        reading_id=reading_id,
        ts=ts or ago(0),
        status="normal",
        failure_probability=0.05,
        predicted_mode=None,
        failure=0,
        failure_description=None,
    )
    base["values"] = {**base["values"], **(values or {})}
    base.update(changes)
    return base


def prediction_v1(machine_id: str, reading_id: str, ts: str | None = None, **changes: Any) -> dict[str, Any]:
    """A version-1 (flat AI4I, before profiles) Prediction payload, as workers sent them before."""
    base: dict[str, Any] = json.loads((V1_EXAMPLES / "prediction_v1.json").read_text())
    base.update(machine_id=machine_id, reading_id=reading_id, ts=ts or ago(0), **changes)
    return base


def alert(machine_id: str, alert_id: str, state: str = "open", **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = json.loads((EXAMPLES / "alert.json").read_text())
    base.update(machine_id=machine_id, alert_id=alert_id, state=state, opened_at=ago(5))
    if state == "cleared":
        base["cleared_at"] = ago(0)
    base.update(changes)
    return base


def feed(
    app: Flask,
    predictions: Sequence[dict[str, Any]] = (),
    alerts: Sequence[dict[str, Any]] = (),
    statuses: Sequence[tuple[str, str, str]] = (),
) -> BatchResult:
    """What the ingest does with decoded messages: one stored batch, then the live update."""
    state = runtime_of(app)
    result = state.store.write_batch(
        [prediction_row(json.dumps(p).encode(), p["machine_id"]) for p in predictions],
        [alert_row(json.dumps(a).encode(), a["machine_id"]) for a in alerts],
        [(machine_id, status, ts_to_ms(ts)) for machine_id, status, ts in statuses],
    )
    state.committed(result)
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """The app behind a real waitress server on a free port, in a thread."""

    def __init__(self, app: Flask, threads: int = 8) -> None:
        self.port = free_port()
        self.server = create_api_server(app, "127.0.0.1", self.port, threads)  # production settings
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)
