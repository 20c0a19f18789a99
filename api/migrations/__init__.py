"""Versioned schema migrations of the history database (Alembic), run at every API start.

    upgrade(engine)      # bring the database to the newest revision (a no-op when it is there)
    status(engine)       # (current revision, newest revision)

`python -m api db status|upgrade|history` runs them by hand. Each revision is a file in
``versions/`` that describes its tables itself (never importing api.db, which moves on), so
an old database is always upgraded by the code that matches it. A database created before
migrations existed (no ``alembic_version`` table) is upgraded from the baseline, whose tables
are created only where missing.

An upgrade is one transaction on both engines: SQLite runs it under ``BEGIN IMMEDIATE`` (a
second API starting at the same moment waits, then finds the database upgraded), PostgreSQL
under a transaction-level advisory lock. A failed upgrade leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from api.db import enable_wal

__all__ = ["HEAD", "current_revision", "head_revision", "history", "status", "upgrade"]

_HERE = Path(__file__).resolve().parent
HEAD = "head"
# pg_advisory_xact_lock key: "forewarn" in ASCII, so no other application's lock collides by chance
_PG_LOCK_KEY = 0x666F726577617256


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("version_table", "alembic_version")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "api/migrations/versions is empty"
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The database's revision; None for an empty database or one older than migrations."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def status(engine: sa.Engine) -> tuple[str | None, str]:
    return current_revision(engine), head_revision()


def history() -> list[tuple[str, str | None, str]]:
    """(revision, its parent, its message), oldest first."""
    scripts = ScriptDirectory.from_config(_config())
    found = [(s.revision, _one(s.down_revision), s.doc) for s in scripts.walk_revisions()]
    return list(reversed(found))


def upgrade(engine: sa.Engine, revision: str = HEAD) -> None:
    """Upgrade the database behind `engine` to `revision` in one locked transaction."""
    with _migrating(engine) as conn:
        command.upgrade(_config(conn), revision)


@contextmanager
def _migrating(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that holds the database's migration lock."""
    if engine.dialect.name == "sqlite":
        # pysqlite would commit before every DDL statement; drive the transaction ourselves
        private = sa.create_engine(engine.url, poolclass=sa.pool.NullPool, connect_args={"timeout": 60})
        sa.event.listen(private, "connect", _sqlite_autocommit_driver)
        sa.event.listen(private, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        try:
            with private.begin() as conn:
                yield conn
        finally:
            private.dispose()
        return
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        yield conn


def _sqlite_autocommit_driver(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # no implicit transactions: ours is explicit
    dbapi_connection.execute("PRAGMA busy_timeout=60000")
    enable_wal(dbapi_connection, timeout_s=60)


def _one(down: Any) -> str | None:
    if down is None or isinstance(down, str):
        return down
    return ",".join(down)
