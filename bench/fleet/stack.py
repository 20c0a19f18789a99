"""The stack under test, started for real: the store, the API process, CPU and memory readings.

The broker (:class:`broker.local.LocalBroker`, the project's own mosquitto.conf) and the
workers (:class:`bench.harness.Services`) come from the bench's shared harness; this module adds
what the fleet needs on top: a database per run (a SQLite file, or a schema of its own on a
PostgreSQL server), ``python -m api`` as a process, and the figures read from the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.harness import REPO_ROOT
from broker.local import LocalBroker, free_port
from common.settings import ConfigError

__all__ = ["ApiProcess", "Store", "postgres_base_url", "system_cpu"]

POSTGRES_ENV = "FOREWARN_TEST_POSTGRES_URL"  # the same server the test suite uses
CI_POSTGRES = REPO_ROOT / "scripts" / "ci-postgres.sh"


def postgres_base_url(explicit: str | None) -> tuple[str | None, str]:
    """The PostgreSQL server to use and where it came from (or why there is none).

    --postgres-url, else $FOREWARN_TEST_POSTGRES_URL, else the server CI starts
    (scripts/ci-postgres.sh: installs and starts a local cluster; needs root).
    """
    if explicit:
        return explicit, "--postgres-url"
    if os.environ.get(POSTGRES_ENV):
        return os.environ[POSTGRES_ENV], f"${POSTGRES_ENV}"
    if not CI_POSTGRES.is_file():
        return None, f"no {POSTGRES_ENV} and no {CI_POSTGRES.name}"
    if os.geteuid() != 0:
        return None, f"no {POSTGRES_ENV}, and {CI_POSTGRES.name} needs root"
    done = subprocess.run(["bash", str(CI_POSTGRES)], capture_output=True, text=True, timeout=600, check=False)
    url = done.stdout.strip()
    if done.returncode != 0 or not url:
        said = done.stderr.strip().splitlines()
        return None, f"{CI_POSTGRES.name} failed: {said[-1] if said else done.returncode}"
    return url, CI_POSTGRES.name


@dataclass
class Store:
    """The run's database, seen from the bench: counts, size, the server processes serving it."""

    engine_name: str  # "sqlite" | "postgresql"
    url: str  # what the API is given
    application_name: str = ""  # PostgreSQL: how our connections are told apart from others'
    schema: str = ""
    admin_url: str = ""
    path: Path | None = None
    _engine: sa.Engine | None = field(default=None, repr=False)

    @classmethod
    def sqlite(cls, folder: Path) -> Store:
        path = folder / "fleet.db"
        return cls("sqlite", f"sqlite:///{path}", path=path)

    @classmethod
    def postgresql(cls, base_url: str) -> Store:
        """A fresh schema on the server, dropped again by :meth:`drop`."""
        schema = f"fleet_{uuid.uuid4().hex[:10]}"
        application = f"forewarn-{schema}"
        try:
            admin = sa.create_engine(base_url, poolclass=sa.pool.NullPool)
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            admin.dispose()
        except (sa.exc.SQLAlchemyError, ImportError) as exc:
            raise ConfigError(f"PostgreSQL at {sa.make_url(base_url).host}: {str(exc).splitlines()[0]}") from None
        url = sa.make_url(base_url).update_query_dict(
            {"options": f"-csearch_path={schema}", "application_name": application}
        )
        return cls(
            "postgresql",
            url.render_as_string(hide_password=False),
            application_name=application,
            schema=schema,
            admin_url=base_url,
        )

    @property
    def reader_url(self) -> str:
        """The bench's own connections (probe, counts): named apart, so their work is not the API's."""
        if self.engine_name != "postgresql":
            return self.url
        url = sa.make_url(self.url).update_query_dict({"application_name": f"{self.application_name}-bench"})
        return url.render_as_string(hide_password=False)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.reader_url, poolclass=sa.pool.NullPool)
        return self._engine

    def count_between(self, start_ms: int, end_ms: int) -> int:
        """Stored predictions whose reading time is in [start_ms, end_ms)."""
        with self.engine.connect() as conn:
            query = sa.text("SELECT count(*) FROM predictions WHERE ts_ms >= :a AND ts_ms < :b")
            return int(conn.execute(query, {"a": start_ms, "b": end_ms}).scalar() or 0)

    def rows(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM predictions")).scalar() or 0)

    def bytes_used(self) -> int:
        """The database's size: every table and index (SQLite: pages in use, WAL included)."""
        with self.engine.connect() as conn:
            if self.engine_name == "sqlite":
                pages = conn.execute(sa.text("PRAGMA page_count")).scalar() or 0
                free = conn.execute(sa.text("PRAGMA freelist_count")).scalar() or 0
                size = conn.execute(sa.text("PRAGMA page_size")).scalar() or 0
                return int((pages - free) * size)
            query = sa.text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind = 'r'"
            )
            return int(conn.execute(query, {"schema": self.schema}).scalar() or 0)

    def server_pids(self) -> list[int]:
        """PostgreSQL: the backends serving our connections (their CPU is the database's work)."""
        if self.engine_name != "postgresql":
            return []
        query = sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name AND pid <> pg_backend_pid()")
        with self.engine.connect() as conn:
            return [int(pid) for pid in conn.execute(query, {"name": self.application_name}).scalars()]

    def drop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self.engine_name == "postgresql":
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                admin = sa.create_engine(self.admin_url, poolclass=sa.pool.NullPool)
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
                admin.dispose()


class ApiProcess:
    """`python -m api` on a free port, ingesting from the broker into the run's store."""

    def __init__(self, broker: LocalBroker, store: Store, folder: Path, streams: int, models_dir: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.user = f"fleet-api-{uuid.uuid4().hex[:6]}"
        self.log = folder / "api.log"
        self.password = broker.add_user(self.user, "viewer")
        env = os.environ | {
            "FOREWARN_MQTT_HOST": broker.host,
            "FOREWARN_MQTT_PORT": str(broker.port),
            "FOREWARN_MQTT_CA": str(broker.ca_file),
            "FOREWARN_MQTT_USERNAME": self.user,
            "FOREWARN_MQTT_PASSWORD": self.password,
            "FOREWARN_API_SESSION_EXPIRY_S": "60",  # the minimum: the broker soon forgets the session
            "FOREWARN_TOPIC_PREFIX": broker.topics.prefix,
            "FOREWARN_API_PORT": str(self.port),
            "FOREWARN_VAR_DIR": str(folder),
            "FOREWARN_DATABASE_URL": store.url,
            "FOREWARN_MODELS_DIR": str(models_dir),
            "FOREWARN_REGISTRY_DIR": str(broker.registry_dir),
            "FOREWARN_DASHBOARD_DIR": str(folder / "no-dashboard"),
            # each event stream holds a server thread: room for the dashboards and the JSON routes
            "FOREWARN_API_THREADS": str(max(16, streams + 12)),
            "FOREWARN_API_MAX_STREAMS": str(streams + 4),
            "FOREWARN_API_MAX_STREAMS_PER_CLIENT": str(streams + 2),
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api"], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/health", timeout=5) as answer:
                document: dict[str, Any] = json.loads(answer.read())
                return document
        except urllib.error.HTTPError as exc:  # 503 while not ready: the body still says why
            with contextlib.suppress(ValueError):
                return dict(json.loads(exc.read() or b"{}"))
            return None
        except (OSError, ValueError):
            return None

    def wait_ready(self, worker_instances: list[str], timeout: float = 60.0) -> None:
        """Until the API is connected and has heard every worker's "online" (its subscription is live)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API exited (rc={self.process.returncode}): {self.tail()}")
            health = self.health() or {}
            services = health.get("services", {})
            online = all(services.get(name, {}).get("state") == "online" for name in worker_instances)
            if health.get("broker_connected") and online:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the API was not ready within {timeout:.0f} s: {self.tail()}")

    def tail(self) -> str:
        return " | ".join(self.log.read_text(errors="replace").splitlines()[-5:]) if self.log.exists() else ""

    def stop(self) -> None:
        """SIGTERM: the API stores and acknowledges what it received, then leaves."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def system_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (from /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(value) for value in fields[:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    per_second = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / per_second, sum(ticks) / per_second
