"""A bounded, durable queue of messages waiting for the broker's acknowledgement.

Every reading is written here before it is handed to MQTT and deleted only when its
PUBACK arrives, so readings taken while the broker is away, or in flight when it crashed,
survive both a broker outage and a publisher restart (at-least-once; the reading id makes
a duplicate harmless downstream).

SQLite in WAL mode with ``synchronous=NORMAL``: a committed row survives a crash of the
publisher; a power cut may lose the last few commits, a fair price for ~10x fewer fsyncs.
The queue is bounded: past `max_rows` the oldest rows are dropped and counted, never silently.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Entry", "Outbox"]

# AUTOINCREMENT: ids never come back after deletes, so "rows after id N" stays meaningful.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One queued message."""

    id: int
    topic: str
    payload: bytes


class Outbox:
    """The queue in one SQLite file; use from one thread only."""

    def __init__(self, path: Path, max_rows: int) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_rows = max_rows
        self.dropped = 0
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._depth = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    @property
    def depth(self) -> int:
        """How many messages wait for an acknowledgement."""
        return self._depth

    def put(self, topic: str, payload: bytes) -> int:
        """Queue a message; returns how many of the oldest were dropped to stay within bounds."""
        excess = max(self._depth + 1 - self.max_rows, 0)
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO outbox (topic, payload) VALUES (?, ?)", (topic, payload))
            if excess:
                self._db.execute(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)", (excess,)
                )
        self._depth += 1 - excess
        self.dropped += excess
        return excess

    def after(self, row_id: int, limit: int) -> list[Entry]:
        """Up to `limit` messages queued after `row_id`, oldest first."""
        rows = self._db.execute(
            "SELECT id, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?", (row_id, limit)
        )
        return [Entry(int(i), str(topic), bytes(payload)) for i, topic, payload in rows]

    def ack(self, row_ids: Iterable[int]) -> int:
        """Delete acknowledged messages; returns how many were still queued (not dropped)."""
        with self._db:
            self._db.execute("BEGIN")
            cursor = self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in row_ids])
            deleted = max(cursor.rowcount, 0)
        self._depth -= deleted
        return deleted

    def next_run_id(self, now_ms: int) -> int:
        """A run id this outbox never gave before: now in ms, or one past the last if the clock went back."""
        with self._db:
            self._db.execute("BEGIN")
            row = self._db.execute("SELECT value FROM meta WHERE key = 'run_id'").fetchone()
            run_id = max(now_ms, int(row[0]) + 1) if row else now_ms
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('run_id', ?)", (run_id,))
        return run_id

    def close(self) -> None:
        self._db.close()
