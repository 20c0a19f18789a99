"""A bounded, durable queue of messages waiting for the broker's acknowledgement.

Every reading is written here before it is handed to MQTT and marked acknowledged only when
its PUBACK arrives, so readings taken while the broker is away, or in flight when it crashed,
survive both a broker outage and a publisher restart (at-least-once; the reading id makes
a duplicate harmless downstream).

A PUBACK is not the end of the story: Mosquitto's persistence is a periodic snapshot
(`autosave_interval`), so a broker that crashes loses what it acknowledged since its last
snapshot. Acknowledged rows are therefore kept for `keep_acked_ms` more (measured from the
newest acknowledgement, not from now, so a long outage prunes nothing) and :meth:`recently_acked`
hands them back for re-sending after a reconnect. `keep_acked_ms` must exceed the broker's
autosave interval; 0 deletes on acknowledgement.

SQLite in WAL mode with ``synchronous=NORMAL``: a committed row survives a crash of the
publisher; a power cut may lose the last few commits, a fair price for ~10x fewer fsyncs.
The queue is bounded: past `max_rows` the oldest rows are dropped and counted, never silently.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Entry", "Outbox"]

# AUTOINCREMENT: ids never come back after deletes, so "rows after id N" stays meaningful.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    acked_at INTEGER  -- epoch ms of the PUBACK; NULL while waiting for it
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_INDEX = "CREATE INDEX IF NOT EXISTS outbox_acked ON outbox (acked_at) WHERE acked_at IS NOT NULL"


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Entry:
    """One queued message."""

    id: int
    topic: str
    payload: bytes


class Outbox:
    """The queue in one SQLite file; use from one thread only."""

    def __init__(self, path: Path, max_rows: int, keep_acked_ms: int = 0, clock: Callable[[], int] = _wall_ms) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        if keep_acked_ms < 0:
            raise ValueError("keep_acked_ms must not be negative")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_rows = max_rows
        self.keep_acked_ms = keep_acked_ms
        self.dropped = 0
        self._clock = clock
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._depth = int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0])

    def _migrate(self) -> None:
        """Outboxes written before acknowledged rows were kept lack the column."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        if "acked_at" not in columns:
            self._db.execute("ALTER TABLE outbox ADD COLUMN acked_at INTEGER")
        self._db.execute(_INDEX)

    @property
    def depth(self) -> int:
        """How many messages wait for an acknowledgement (kept acknowledged ones do not count)."""
        return self._depth

    @property
    def kept(self) -> int:
        """How many acknowledged messages are kept for a re-send after a broker crash."""
        return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE acked_at IS NOT NULL").fetchone()[0])

    def put(self, topic: str, payload: bytes) -> int:
        """Queue a message; returns how many of the oldest were dropped to stay within bounds."""
        excess = max(self._depth + 1 - self.max_rows, 0)
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO outbox (topic, payload) VALUES (?, ?)", (topic, payload))
            if excess:
                self._db.execute(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE acked_at IS NULL ORDER BY id LIMIT ?)",
                    (excess,),
                )
        self._depth += 1 - excess
        self.dropped += excess
        return excess

    def after(self, row_id: int, limit: int) -> list[Entry]:
        """Up to `limit` messages waiting for an acknowledgement queued after `row_id`, oldest first."""
        rows = self._db.execute(
            "SELECT id, topic, payload FROM outbox WHERE id > ? AND acked_at IS NULL ORDER BY id LIMIT ?",
            (row_id, limit),
        )
        return _entries(rows)

    def ack(self, row_ids: Iterable[int]) -> int:
        """Mark messages acknowledged (or delete them when none are kept); returns how many were waiting."""
        if not self.keep_acked_ms:
            return self.discard(row_ids)
        now = self._clock()
        with self._db:
            self._db.execute("BEGIN")
            cursor = self._db.executemany(
                "UPDATE outbox SET acked_at = ? WHERE id = ? AND acked_at IS NULL", [(now, i) for i in row_ids]
            )
            marked = max(cursor.rowcount, 0)
            # Measured from the newest acknowledgement: during an outage nothing ages out.
            self._db.execute("DELETE FROM outbox WHERE acked_at < ?", (now - self.keep_acked_ms,))
        self._depth -= marked
        return marked

    def discard(self, row_ids: Iterable[int]) -> int:
        """Delete messages for good (e.g. refused by the broker); returns how many were waiting."""
        params = [(i,) for i in row_ids]
        with self._db:
            self._db.execute("BEGIN")
            cursor = self._db.executemany("DELETE FROM outbox WHERE id = ? AND acked_at IS NULL", params)
            waiting = max(cursor.rowcount, 0)
            self._db.executemany("DELETE FROM outbox WHERE id = ?", params)
        self._depth -= waiting
        return waiting

    def recently_acked(self) -> list[Entry]:
        """The kept acknowledged messages, oldest first: what a crashed broker may have lost."""
        rows = self._db.execute("SELECT id, topic, payload FROM outbox WHERE acked_at IS NOT NULL ORDER BY id")
        return _entries(rows)

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


def _entries(rows: Iterable[tuple[int, str, bytes]]) -> list[Entry]:
    return [Entry(int(i), str(topic), bytes(payload)) for i, topic, payload in rows]
