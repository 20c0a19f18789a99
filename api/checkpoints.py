"""SQLite's WAL checkpoints on a thread of their own, off the batch writer's path.

SQLite copies the write-ahead log back into the database file (a checkpoint) inside the
commit that takes the log past `wal_autocheckpoint` pages, on the committing thread: the
API's batch writer then waits for the copy and its fsyncs while messages queue behind it.
At a fleet's rate every batch dirties a page per machine in each machine-keyed index, so the
log fills fast and those waits come often. Here a thread checkpoints every `interval_s`
instead, PASSIVE (it neither waits for nor blocks the writer and the readers), and the copy
runs beside the writer, outside the interpreter lock. The connections' own autocheckpoint
stays as the backstop should this thread fall behind. PostgreSQL and in-memory databases
have nothing to do here.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

__all__ = ["CHECKPOINT_INTERVAL_S", "WalCheckpointer"]

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_S = 0.5


class WalCheckpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` every `interval_s` on a SQLite file database."""

    def __init__(self, engine: sa.Engine, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self._engine = engine
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # completed
        self.failures = 0

    @property
    def applies(self) -> bool:
        url = self._engine.url
        return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")

    def start(self) -> None:
        if not self.applies or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="api-wal-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.checkpoint()

    def checkpoint(self) -> None:
        """One PASSIVE checkpoint; a failure is counted and logged (the backstop still checkpoints)."""
        try:
            with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sa.exc.SQLAlchemyError as exc:
            self.failures += 1
            if self.failures <= 3 or self.failures % 1_000 == 0:
                log.warning("WAL checkpoint #%d failed: %s", self.failures, exc)
