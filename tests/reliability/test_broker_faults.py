"""R2, R3: the broker restarted cleanly, then killed outright, while readings keep coming.

Mosquitto's persistence is a snapshot every few seconds (autosave_interval): SIGTERM saves it,
`kill -9` loses what was acknowledged since the last one. The publishers' outbox keeps
acknowledged readings for a window longer than that and sends them again after every
reconnect (publisher/outbox.py), so even a crash loses nothing; the copies are duplicates
the API stores once.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.reliability.harness import Pipeline, Publisher, report, wait_until

pytestmark = pytest.mark.slow


def _restart_broker(pipeline: Pipeline, sig: signal.Signals) -> float:
    pipeline.broker.stop(sig)
    pipeline.broker.start()
    return time.monotonic()


def test_r2_broker_restarted_five_times_during_10000_readings(pipeline: Pipeline) -> None:
    total, restarts = 10_000, 5
    pipeline.start_worker("r2")
    started = time.monotonic()
    publisher = pipeline.start_publisher("r2-press", count=total, rate=500)
    stored_at_restart = []
    for step in range(restarts):
        threshold = total * (step + 1) // (restarts + 2)
        assert pipeline.wait_stored(threshold, 120), f"stuck below {threshold} stored"
        stored_at_restart.append(pipeline.stored_count())
        _restart_broker(pipeline, signal.SIGTERM)
    pipeline.wait_publishers(180)  # a publisher ends only when every reading was acknowledged
    assert pipeline.wait_stored(total, 180), f"only {pipeline.stored_count()} of {total} stored"
    figures = pipeline.outcome()
    report(
        "R2",
        **figures,
        restarts=restarts,
        stored_at_each_restart=stored_at_restart,
        total_s=round(time.monotonic() - started, 1),
        publisher=publisher.stats(),
    )
    assert figures["expected"] == total
    assert figures["lost"] == 0
    assert figures["stored"] == total
    assert figures["stored_more_than_once"] == 0


def _drain_time(publishers: list[Publisher], since: float, limit: float) -> float:
    """Seconds until every reading waiting in the outboxes at `since` was acknowledged."""
    backlog = {pub.machine_id: pub.newest_row() for pub in publishers}
    drained = wait_until(lambda: all(pub.pending(backlog[pub.machine_id]) == 0 for pub in publishers), limit, 0.2)
    return round(time.monotonic() - since, 1) if drained else float("inf")


def test_r3_broker_killed_three_times_while_publishers_keep_their_outbox(pipeline: Pipeline) -> None:
    per_publisher, rate, kills = 6_000, 200, 3  # 30 s of readings: every kill falls inside the stream
    pipeline.start_worker("r3")
    publishers = [pipeline.start_publisher(f"r3-mill-{n}", count=per_publisher, rate=rate) for n in range(3)]
    total = per_publisher * len(publishers)
    started = time.monotonic()
    drains = []
    for step in range(kills):
        # 7 s apart, longer than the autosave interval: each kill falls between two snapshots
        time.sleep(max(started + 6.0 + 7.0 * step - time.monotonic(), 0.0))
        assert all(p.process.poll() is None for p in publishers), "a publisher finished before the kill"
        restarted = _restart_broker(pipeline, signal.SIGKILL)
        drains.append(_drain_time(publishers, restarted, 60))
    pipeline.wait_publishers(180)
    assert pipeline.wait_stored(total, 180), f"only {pipeline.stored_count()} of {total} stored"
    figures = pipeline.outcome()
    report(
        "R3",
        **figures,
        kills=kills,
        outbox_drained_after_restart_s=drains,
        total_s=round(time.monotonic() - started, 1),
        publishers=[p.stats() for p in publishers],
    )
    assert figures["expected"] == total
    assert figures["lost"] == 0
    assert figures["stored"] == total
    assert max(drains) <= 30.0, f"outboxes drained {drains} s after the restarts (criterion: 30 s)"
