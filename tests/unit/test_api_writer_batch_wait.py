"""The API writer's batch wait: messages arriving within it share one transaction; a backlog
is not waited for; a stop does not wait it out."""

from __future__ import annotations

import threading
import time
from typing import Any

from api.store import BatchResult
from api.writer import BatchWriter, Inbound


class _RecordingStore:
    """Stands in for the database: records the size of every transaction."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.written = threading.Event()

    def write_batch(self, predictions: Any, alerts: Any, statuses: Any, shadow: Any) -> BatchResult:
        self.batches.append(len(predictions) + len(alerts) + len(statuses) + len(shadow))
        self.written.set()
        return BatchResult()


def _writer(store: _RecordingStore, wait_s: float) -> tuple[BatchWriter, list[int]]:
    acked: list[int] = []
    writer = BatchWriter(
        store,  # type: ignore[arg-type]
        lambda _result: None,
        lambda batch: acked.extend(item.mid for item in batch),
        max_wait_s=wait_s,
    )
    return writer, acked


def _status(mid: int, received: float | None = None) -> Inbound:
    return Inbound("status", ("m1", "online", mid), mid, 1, time.monotonic() if received is None else received)


def _wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_messages_arriving_within_the_wait_share_one_transaction() -> None:
    store = _RecordingStore()
    writer, acked = _writer(store, wait_s=0.5)
    writer.start()
    try:
        for mid in range(1, 6):
            writer.submit(_status(mid))
            time.sleep(0.02)
        _wait_for(lambda: len(acked) == 5)
    finally:
        writer.stop()
    assert store.batches == [5]
    assert acked == [1, 2, 3, 4, 5]  # acknowledged after the commit, in order


def test_without_a_wait_the_first_message_is_stored_alone() -> None:
    store = _RecordingStore()
    writer, acked = _writer(store, wait_s=0.0)
    writer.start()
    try:
        writer.submit(_status(1))
        _wait_for(lambda: acked == [1])
        writer.submit(_status(2))
        _wait_for(lambda: acked == [1, 2])
    finally:
        writer.stop()
    assert store.batches == [1, 1]


def test_a_backlog_is_stored_at_once() -> None:
    store = _RecordingStore()
    writer, acked = _writer(store, wait_s=30.0)
    long_ago = time.monotonic() - 60.0  # older than the wait: nothing more to gather for it
    for mid in range(1, 4):
        writer.submit(_status(mid, received=long_ago))
    writer.start()
    try:
        _wait_for(lambda: len(acked) == 3)
    finally:
        writer.stop()
    assert store.batches == [3]


def test_a_stop_stores_what_waits_without_waiting_it_out() -> None:
    store = _RecordingStore()
    writer, acked = _writer(store, wait_s=30.0)
    writer.start()
    writer.submit(_status(1))
    time.sleep(0.05)  # the writer now sleeps out its wait
    started = time.monotonic()
    writer.stop()
    assert time.monotonic() - started < 5.0
    assert acked == [1]
    assert store.batches == [1]
