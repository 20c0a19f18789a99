"""The single writer thread between the MQTT callback and the database.

The MQTT callback only decodes and enqueues; this thread takes whatever is waiting (up to
`max_rows`), stores it in one transaction, and only then acknowledges each message to the
broker and hands the result on (state cache, event stream). A crash before the commit leaves
the messages unacknowledged, so the broker delivers them again and the idempotent insert
stores them once. Batches grow with the load: after the first message of a batch arrives,
the writer waits up to `max_wait_s` for more (or until `max_rows` are there), then stores them
all. A transaction, its commit and the live events it wakes cost about as much for one message
as for a hundred, so at a fleet's rate this trades a tenth of a second of latency for a
fraction of the CPU per message (docs/SCALING.md, "The API's batch wait").
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from api.store import BatchResult, Store

__all__ = ["BatchWriter", "Inbound"]

log = logging.getLogger(__name__)

_RETRY_FIRST_S = 0.2
_RETRY_MAX_S = 5.0


@dataclass(frozen=True, slots=True)
class Inbound:
    """One decoded message waiting to be stored."""

    kind: str  # "prediction" | "shadow" | "alert" | "status"
    row: Any  # a predictions/alerts row, or (machine_id, state, ts_ms) for a status
    mid: int
    qos: int
    received: float  # time.monotonic() at arrival, for the ingest lag


class BatchWriter:
    """Stores queued messages in batches, then acknowledges them and reports the result."""

    def __init__(
        self,
        store: Store,
        on_committed: Callable[[BatchResult], None],
        ack: Callable[[Sequence[Inbound]], None],
        max_rows: int = 500,
        max_wait_s: float = 0.0,
    ) -> None:
        self._store = store
        self._on_committed = on_committed
        self._ack = ack
        self._max_rows = max_rows
        self._max_wait_s = max_wait_s
        self._queue: queue.Queue[Inbound] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._batch_since: float | None = None
        self.stored = 0  # messages committed (new or already known)
        self.dropped = 0  # messages the database refused even one by one

    def submit(self, item: Inbound) -> None:
        self._queue.put(item)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="api-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Store what is queued, then end the thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def lag_s(self) -> float:
        """Age of the oldest message received but not yet committed (0 when none waits)."""
        with self._queue.mutex:
            head = self._queue.queue[0].received if self._queue.queue else None
        waiting = [moment for moment in (self._batch_since, head) if moment is not None]
        return time.monotonic() - min(waiting) if waiting else 0.0

    def pending(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while True:
            batch = self._collect()
            if batch:
                self._batch_since = batch[0].received
                self._commit(batch)
                self._batch_since = None
            elif self._stopping.is_set():
                return

    def _collect(self) -> list[Inbound]:
        try:
            batch = [self._queue.get(timeout=0.1)]
        except queue.Empty:
            return []
        # One sleep, not a wake-up per arriving message: those would fight the MQTT thread for
        # the interpreter lock. A backlog (the first message already older) is not waited for.
        wait = batch[0].received + self._max_wait_s - time.monotonic()
        if wait > 0 and self._queue.qsize() < self._max_rows:
            self._stopping.wait(wait)
        while len(batch) < self._max_rows:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _commit(self, batch: list[Inbound]) -> None:
        delay = _RETRY_FIRST_S
        while True:
            try:
                result = _write(self._store, batch)
                break
            except (sa.exc.DataError, sa.exc.IntegrityError) as exc:
                log.error("batch refused by the database (%s); storing one by one", exc.__class__.__name__)
                result = self._write_singly(batch)
                break
            except sa.exc.SQLAlchemyError as exc:
                log.error("cannot store %d messages, retrying in %.1fs: %s", len(batch), delay, exc)
                if self._stopping.wait(delay):
                    return  # shutting down: unacknowledged, the broker redelivers them
                delay = min(delay * 2, _RETRY_MAX_S)
        self._finish(batch, result)

    def _write_singly(self, batch: list[Inbound]) -> BatchResult:
        merged = BatchResult()
        for item in batch:
            try:
                one = _write(self._store, [item])
            except (sa.exc.DataError, sa.exc.IntegrityError) as exc:
                self.dropped += 1
                log.error("dropping a %s the database refuses: %s", item.kind, exc)
                continue
            merged.predictions += one.predictions
            merged.statuses += one.statuses
            merged.alerts += one.alerts
            merged.shadow += one.shadow
        return merged

    def _finish(self, batch: list[Inbound], result: BatchResult) -> None:
        self._ack(batch)  # all of them at once: one wake-up of the MQTT thread, one write
        self.stored += len(batch)
        try:
            self._on_committed(result)
        except Exception:
            # the history is safe; a bug downstream must not stop the ingest
            log.exception("updating the live state failed")


def _write(store: Store, batch: Sequence[Inbound]) -> BatchResult:
    return store.write_batch(
        [item.row for item in batch if item.kind == "prediction"],
        [item.row for item in batch if item.kind == "alert"],
        [item.row for item in batch if item.kind == "status"],
        [item.row for item in batch if item.kind == "shadow"],
    )
