"""The durable outbox of webhook deliveries: one SQLite file, one row per event and endpoint.

An event is recorded (pending) for each endpoint that wants it before its MQTT message is
acknowledged, and marked delivered only after the endpoint answered 2xx. The key (event id,
endpoint) makes a redelivered or republished event add nothing, so each endpoint gets each
event once across restarts; what can still repeat it is a crash between the endpoint's 2xx
and the mark (the receiver sees the same `webhook-id` again and can drop it).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from contract import format_ts, parse_ts
from webhooks.events import Event

__all__ = ["Delivery", "Outbox"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    type TEXT NOT NULL,
    body BLOB NOT NULL,
    queued_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    last_error TEXT,
    outcome TEXT,
    done_at TEXT,
    UNIQUE (event_id, endpoint)
);
CREATE INDEX IF NOT EXISTS pending_by_endpoint ON deliveries (endpoint, seq) WHERE outcome IS NULL;
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event owed to one endpoint."""

    seq: int
    endpoint: str
    event: Event
    queued_at: datetime
    attempts: int
    next_at: datetime


class Outbox:
    """Thread-safe: the MQTT callback records, one sender thread per endpoint delivers."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # recorded before the MQTT ack: must survive a power cut
        self._db.executescript(_SCHEMA)

    def enqueue(self, event: Event, endpoints: Iterable[str], now: datetime) -> int:
        """Owe `event` to each endpoint unless already owed or done; returns how many are new."""
        return self._insert(event, endpoints, now)

    def enqueue_after(self, cursor: str, value: int, event: Event, endpoints: Iterable[str], now: datetime) -> int:
        """`enqueue`, and move the feed's `cursor` to `value`, in one transaction (nothing lost
        or owed twice when the service stops in between)."""
        return self._insert(event, endpoints, now, (cursor, value))

    def _insert(
        self, event: Event, endpoints: Iterable[str], now: datetime, cursor: tuple[str, int] | None = None
    ) -> int:
        stamp = format_ts(now)
        rows = [(event.id, name, event.type, event.body, stamp, stamp) for name in sorted(endpoints)]
        with self._lock, self._db:
            self._db.execute("BEGIN")
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO deliveries (event_id, endpoint, type, body, queued_at, next_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            added = self._db.total_changes - before
            if cursor is not None:
                self._db.execute(
                    "INSERT INTO cursors (name, value) VALUES (?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    cursor,
                )
            return added

    def cursor(self, name: str) -> int | None:
        """Where a feed of the API stopped (the last id recorded); None before its first event."""
        with self._lock:
            row = self._db.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def next_for(self, endpoint: str) -> Delivery | None:
        """The oldest pending delivery of an endpoint (they go in order: opened before cleared)."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq, event_id, type, body, queued_at, attempts, next_at FROM deliveries"
                " WHERE endpoint = ? AND outcome IS NULL ORDER BY seq LIMIT 1",
                (endpoint,),
            ).fetchone()
        if row is None:
            return None
        seq, event_id, event_type, body, queued_at, attempts, next_at = row
        event = Event(str(event_id), str(event_type), bytes(body))
        return Delivery(int(seq), endpoint, event, parse_ts(queued_at), int(attempts), parse_ts(next_at))

    def delivered(self, seq: int, attempts: int, now: datetime) -> None:
        self._finish(seq, "delivered", attempts, None, now)

    def failed(self, seq: int, attempts: int, error: str, now: datetime) -> None:
        """Given up on for good (too old): kept, with the last error, for the log and the operator."""
        self._finish(seq, "failed", attempts, error, now)

    def retry_at(self, seq: int, attempts: int, error: str, when: datetime) -> None:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE deliveries SET attempts = ?, last_error = ?, next_at = ? WHERE seq = ? AND outcome IS NULL",
                (attempts, error[:500], format_ts(when), seq),
            )

    def _finish(self, seq: int, outcome: str, attempts: int, error: str | None, now: datetime) -> None:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE deliveries SET outcome = ?, attempts = ?, last_error = ?, done_at = ?"
                " WHERE seq = ? AND outcome IS NULL",
                (outcome, attempts, error[:500] if error else None, format_ts(now), seq),
            )

    def outcomes(self, event_id: str) -> dict[str, tuple[str | None, int]]:
        """{endpoint: (outcome or None while pending, attempts)} of one event (for checks and tests)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT endpoint, outcome, attempts FROM deliveries WHERE event_id = ?", (event_id,)
            ).fetchall()
        return {str(name): (outcome, int(attempts)) for name, outcome, attempts in rows}

    def pending_count(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM deliveries WHERE outcome IS NULL").fetchone()
        return int(count)

    def prune(self, now: datetime, keep_days: int = 30) -> int:
        """Forget finished deliveries older than `keep_days`; returns how many."""
        with self._lock, self._db:
            cursor = self._db.execute(
                "DELETE FROM deliveries WHERE outcome IS NOT NULL AND done_at < ?",
                (format_ts(now - timedelta(days=keep_days)),),
            )
        return max(cursor.rowcount, 0)

    def close(self) -> None:
        with self._lock:
            self._db.close()
