"""WAL checkpoints on the API's own thread (api/checkpoints.py): the log's pages reach the database file."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from api import create_app, runtime_of
from api.checkpoints import WalCheckpointer
from api.db import create_database_engine
from tests.support.api import test_config


def _wait(check: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_a_checkpoint_copies_what_the_writer_left_in_the_log(tmp_path: Path) -> None:
    path = tmp_path / "api.db"
    engine = create_database_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")  # this writer never checkpoints itself
            conn.exec_driver_sql("CREATE TABLE rows (n INTEGER PRIMARY KEY, body TEXT)")
            conn.exec_driver_sql(
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000) "
                "INSERT INTO rows (body) SELECT hex(randomblob(500)) FROM s"
            )
        in_file_before = path.stat().st_size
        log_before = (tmp_path / "api.db-wal").stat().st_size
        assert log_before > 3_000_000  # the rows are in the log, not yet in the file

        checkpointer = WalCheckpointer(engine, interval_s=0.05)
        assert checkpointer.applies
        checkpointer.start()
        assert _wait(lambda: checkpointer.checkpoints >= 2)
        checkpointer.stop()
        assert checkpointer.failures == 0
        assert path.stat().st_size > in_file_before + 3_000_000
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM rows").scalar() == 3000
    finally:
        engine.dispose()


def test_the_api_checkpoints_its_sqlite_file_and_stops_with_it(tmp_path: Path) -> None:
    app = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}"))
    checkpointer = runtime_of(app).checkpointer
    try:
        assert _wait(lambda: checkpointer.checkpoints >= 1)
    finally:
        runtime_of(app).stop()
    done = checkpointer.checkpoints
    time.sleep(1.2)
    assert checkpointer.checkpoints == done


def test_nothing_to_checkpoint_in_memory_or_on_postgresql() -> None:
    assert not WalCheckpointer(sa.create_engine("sqlite://")).applies
    assert not WalCheckpointer(sa.create_engine("postgresql+psycopg2://u:p@127.0.0.1:1/db")).applies
