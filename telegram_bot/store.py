"""The bot's durable state: an outbox of alert deliveries, the mutes and the escalations, in one SQLite file.

Each alert event is owed once to each allowed chat, keyed by (alert_id, state, chat_id).
The key is written (pending) before the MQTT message is acknowledged, and marked done
after Telegram accepted the message; a restart resends only what is still pending, and a
redelivered or republished event finds its key and adds nothing. The window left: a crash
after Telegram's 200 and before the mark sends that message again after the restart (as does
a retry after a timeout on a request Telegram had in fact carried out).
Done rows are pruned after `keep_days`, far longer than the broker keeps a session.

Escalations: a critical alert is watched from when it is recorded until it is acknowledged
or cleared; if neither happened by its due time, it is owed (state `escalated`) to each
escalation chat, in the same transaction that settles the watch, so a restart neither loses
nor repeats an escalation.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from contract import Alert, format_ts, parse_ts

__all__ = ["ESCALATED", "Delivery", "EscalationOutcome", "Outcome", "Store"]

Outcome = Literal["sent", "digest", "muted", "failed"]
EscalationOutcome = Literal["escalated", "acknowledged", "cleared"]
ESCALATED = "escalated"  # the delivery state of an escalation (besides an alert's open/cleared)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    state TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    machine_id TEXT NOT NULL,
    alert TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    outcome TEXT,
    done_at TEXT,
    UNIQUE (alert_id, state, chat_id)
);
CREATE INDEX IF NOT EXISTS pending_by_chat ON deliveries (chat_id, seq) WHERE outcome IS NULL;
CREATE TABLE IF NOT EXISTS escalations (
    alert_id TEXT PRIMARY KEY,
    machine_id TEXT NOT NULL,
    alert TEXT NOT NULL,
    due_at TEXT NOT NULL,
    outcome TEXT,
    decided_at TEXT
);
CREATE INDEX IF NOT EXISTS escalations_due ON escalations (due_at) WHERE outcome IS NULL;
CREATE TABLE IF NOT EXISTS mutes (
    chat_id INTEGER NOT NULL,
    machine_id TEXT NOT NULL,
    until TEXT NOT NULL,
    PRIMARY KEY (chat_id, machine_id)
);
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert event owed to one chat; `seq` orders deliveries as they arrived."""

    seq: int
    chat_id: int
    alert: Alert
    escalated: bool = False  # sent again, to an escalation chat, because nobody acknowledged it


class Store:
    """The outbox and mutes; use from one thread (the bot's event loop) only."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a delivery recorded before the MQTT ack must survive even a power cut.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def enqueue(self, alert: Alert, chat_ids: Iterable[int], now: datetime) -> int:
        """Owe `alert` to each chat unless already owed or done; returns how many are new."""
        rows = [
            (alert.alert_id, alert.state, chat, alert.machine_id, alert.to_json().decode(), format_ts(now))
            for chat in sorted(chat_ids)
        ]
        with self._db:
            self._db.execute("BEGIN")
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO deliveries (alert_id, state, chat_id, machine_id, alert, queued_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            return self._db.total_changes - before

    def pending(self, chat_id: int) -> list[Delivery]:
        """What is still owed to a chat, oldest first."""
        rows = self._db.execute(
            "SELECT seq, alert, state FROM deliveries WHERE chat_id = ? AND outcome IS NULL ORDER BY seq", (chat_id,)
        )
        return [Delivery(int(seq), chat_id, Alert.from_json(text), state == ESCALATED) for seq, text, state in rows]

    def pending_chats(self) -> set[int]:
        rows = self._db.execute("SELECT DISTINCT chat_id FROM deliveries WHERE outcome IS NULL")
        return {int(chat) for (chat,) in rows}

    def mark(self, seqs: Iterable[int], outcome: Outcome, now: datetime) -> None:
        """Record deliveries as done (sent alone, in a digest, muted or failed for good)."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE deliveries SET outcome = ?, done_at = ? WHERE seq = ? AND outcome IS NULL",
                [(outcome, format_ts(now), seq) for seq in seqs],
            )

    def outcomes(self, alert_id: str) -> dict[tuple[str, int], str | None]:
        """{(state, chat_id): outcome or None when pending} of one alert (for checks and tests)."""
        rows = self._db.execute("SELECT state, chat_id, outcome FROM deliveries WHERE alert_id = ?", (alert_id,))
        return {(str(state), int(chat)): outcome for state, chat, outcome in rows}

    def prune(self, now: datetime, keep_days: int = 30) -> int:
        """Forget done deliveries older than `keep_days`; returns how many."""
        cutoff = format_ts(now - timedelta(days=keep_days))
        with self._db:
            cursor = self._db.execute("DELETE FROM deliveries WHERE outcome IS NOT NULL AND done_at < ?", (cutoff,))
            self._db.execute("DELETE FROM escalations WHERE outcome IS NOT NULL AND decided_at < ?", (cutoff,))
            self._db.execute("DELETE FROM mutes WHERE until < ?", (format_ts(now),))
        return max(cursor.rowcount, 0)

    # -- escalations ----------------------------------------------------------------------

    def watch(self, alert: Alert, due: datetime) -> bool:
        """Escalate `alert` at `due` unless settled before; False when already watched."""
        with self._db:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO escalations (alert_id, machine_id, alert, due_at) VALUES (?, ?, ?, ?)",
                (alert.alert_id, alert.machine_id, alert.to_json().decode(), format_ts(due)),
            )
        return cursor.rowcount > 0

    def due_escalations(self, now: datetime) -> list[Alert]:
        """Watched alerts past their due time and not yet settled, oldest due first."""
        rows = self._db.execute(
            "SELECT alert FROM escalations WHERE outcome IS NULL AND due_at <= ? ORDER BY due_at, alert_id",
            (format_ts(now),),
        )
        return [Alert.from_json(text) for (text,) in rows]

    def settle(self, alert_id: str, outcome: EscalationOutcome, now: datetime) -> bool:
        """Stop watching an alert (acknowledged or cleared); False when it was not waiting."""
        with self._db:
            cursor = self._db.execute(
                "UPDATE escalations SET outcome = ?, decided_at = ? WHERE alert_id = ? AND outcome IS NULL",
                (outcome, format_ts(now), alert_id),
            )
        return cursor.rowcount > 0

    def escalate(self, alert: Alert, chat_ids: Iterable[int], now: datetime) -> int:
        """Owe the alert to each escalation chat and settle its watch, at once; how many are new."""
        rows = [
            (alert.alert_id, ESCALATED, chat, alert.machine_id, alert.to_json().decode(), format_ts(now))
            for chat in sorted(chat_ids)
        ]
        with self._db:
            self._db.execute("BEGIN")
            settled = self._db.execute(
                "UPDATE escalations SET outcome = ?, decided_at = ? WHERE alert_id = ? AND outcome IS NULL",
                (ESCALATED, format_ts(now), alert.alert_id),
            ).rowcount
            if not settled:
                return 0
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO deliveries (alert_id, state, chat_id, machine_id, alert, queued_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            return self._db.total_changes - before

    def escalation_outcome(self, alert_id: str) -> str | None:
        """'waiting', an EscalationOutcome, or None when the alert was never watched."""
        row = self._db.execute("SELECT outcome FROM escalations WHERE alert_id = ?", (alert_id,)).fetchone()
        return None if row is None else (row[0] or "waiting")

    # -- mutes -------------------------------------------------------------------------------

    def mute(self, chat_id: int, machine_id: str, until: datetime) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO mutes (chat_id, machine_id, until) VALUES (?, ?, ?)",
                (chat_id, machine_id, format_ts(until)),
            )

    def unmute(self, chat_id: int, machine_id: str) -> bool:
        """Lift a mute; False when the machine was not muted in that chat."""
        with self._db:
            cursor = self._db.execute("DELETE FROM mutes WHERE chat_id = ? AND machine_id = ?", (chat_id, machine_id))
        return cursor.rowcount > 0

    def mutes(self, chat_id: int, now: datetime) -> list[tuple[str, datetime]]:
        """The machines muted in a chat right now, with the end of each mute."""
        rows = self._db.execute(
            "SELECT machine_id, until FROM mutes WHERE chat_id = ? AND until > ? ORDER BY machine_id",
            (chat_id, format_ts(now)),
        )
        return [(str(machine), parse_ts(until)) for machine, until in rows]

    def close(self) -> None:
        self._db.close()
