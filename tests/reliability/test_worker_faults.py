"""R1, R4, R6, R7: the inference worker killed, away, split in two and too slow; nothing is lost.

Each test counts what the broker delivered (the observer's tally) against what the API stored,
so duplicates are visible: at-least-once delivery, stored exactly once.
"""

from __future__ import annotations

import time

import pytest

from tests.reliability.harness import Pipeline, report, rss_kib, wait_until

pytestmark = pytest.mark.slow

MAX_BATCH = 256  # the worker's default FOREWARN_MAX_BATCH


def test_r1_worker_killed_five_times_during_20000_readings(pipeline: Pipeline) -> None:
    total, kills = 20_000, 5
    pipeline.start_worker("r1")
    started = time.monotonic()
    publisher = pipeline.start_publisher("r1-press", count=total, rate=1_000)
    killed_at: list[int] = []
    for step in range(kills):
        threshold = total * (step + 1) // (kills + 2)  # spread over the stream, the last well before its end
        assert pipeline.wait_stored(threshold, 120), f"stuck below {threshold} stored"
        killed_at.append(pipeline.stored_count())
        pipeline.stop_worker("r1")  # SIGKILL: no goodbye, nothing acknowledged that was not scored
        pipeline.start_worker("r1")
    last_restart = time.monotonic()
    assert pipeline.wait_stored(total, 180), f"only {pipeline.stored_count()} of {total} stored"
    pipeline.wait_publishers(60)
    figures = pipeline.outcome()
    report(
        "R1",
        **figures,
        kills=kills,
        stored_at_each_kill=killed_at,
        drained_after_last_restart_s=round(time.monotonic() - last_restart, 1),
        total_s=round(time.monotonic() - started, 1),
        publisher=publisher.stats(),
    )
    assert figures["expected"] == total
    assert figures["lost"] == 0
    assert figures["stored"] == total
    assert figures["stored_more_than_once"] == 0


def _broker_drops(pipeline: Pipeline) -> list[str]:
    """Mosquitto's own words when it discards queued messages (max_queued_messages/bytes)."""
    log = pipeline.broker.log_file.read_text(errors="replace")
    return [line for line in log.splitlines() if "dropped" in line.lower() or "dropping" in line.lower()]


def test_r4_worker_offline_while_50000_readings_arrive(pipeline: Pipeline) -> None:
    total = 50_000
    pipeline.start_worker("r4")  # its persistent session and subscription exist from here on
    pipeline.stop_worker("r4", sig=15)  # a clean stop: the session stays on the broker
    started = time.monotonic()
    publishers = [pipeline.start_publisher(f"r4-mill-{n}", count=total // 2, rate=0) for n in range(2)]
    pipeline.wait_publishers(300)  # every reading acknowledged by the broker: all of it queued now
    queued_s = time.monotonic() - started
    assert pipeline.stored_count() == 0, "something was scored while the worker was away"
    returned = time.monotonic()
    pipeline.start_worker("r4")
    assert pipeline.wait_stored(total, 300), f"only {pipeline.stored_count()} of {total} stored"
    drained_s = time.monotonic() - returned
    figures = pipeline.outcome()
    drops = _broker_drops(pipeline)
    report(
        "R4",
        **figures,
        queued_while_away_s=round(queued_s, 1),
        drained_after_return_s=round(drained_s, 1),
        broker_drop_lines=len(drops),
        publishers=[p.stats() for p in publishers],
    )
    assert figures["expected"] == total
    assert figures["lost"] == 0
    assert figures["stored"] == total
    assert drops == []


def _sequence(reading_id: str) -> int:
    return int(reading_id.rsplit("-", 1)[1])


def _worker_received(pipeline: Pipeline, worker_id: str) -> int:
    """What the worker's last stats line says it received since its last start."""
    stats = [
        line for line in (pipeline.root / f"worker-{worker_id}.log").read_text().splitlines() if "received=" in line
    ]
    return int(stats[-1].split("received=", 1)[1].split()[0]) if stats else 0


def test_r6_two_workers_one_killed_for_20_s(pipeline: Pipeline) -> None:
    total, away_s = 15_000, 20.0
    pipeline.start_worker("r6-a")
    pipeline.start_worker("r6-b")
    publisher = pipeline.start_publisher("r6-lathe", count=total, rate=300)
    assert pipeline.wait_stored(3_000, 60)
    pipeline.stop_worker("r6-b")  # SIGKILL
    time.sleep(away_s)
    produced_when_back = publisher.newest_row()  # a fresh outbox: row id n holds reading n
    returned = time.monotonic()
    pipeline.start_worker("r6-b")

    def backlog_stored() -> bool:
        done = {_sequence(rid) for rid in pipeline.stored_ids("r6-lathe")}
        return all(n in done for n in range(1, produced_when_back + 1))

    assert wait_until(backlog_stored, 120, 0.25), "the backlog of the killed worker was never drained"
    drained_s = time.monotonic() - returned
    assert pipeline.wait_stored(total, 120), f"only {pipeline.stored_count()} of {total} stored"
    pipeline.wait_publishers(60)
    figures = pipeline.outcome()
    report(
        "R6",
        **figures,
        away_s=away_s,
        produced_when_back=produced_when_back,
        drained_after_return_s=round(drained_s, 1),
        returned_worker_received=_worker_received(pipeline, "r6-b"),
        other_worker_received=_worker_received(pipeline, "r6-a"),
    )
    assert figures["lost"] == 0
    assert figures["stored"] == total
    assert drained_s <= 10.0, f"drained {drained_s:.1f} s after the worker returned (criterion: 10 s)"


def _held_by_worker(log_text: str) -> list[int]:
    """received - acked on each stats line: readings the worker holds unacknowledged."""
    held = []
    for line in log_text.splitlines():
        if "received=" in line and " acked=" in line:
            received = int(line.split("received=", 1)[1].split()[0])
            acked = int(line.split(" acked=", 1)[1].split()[0])
            held.append(received - acked)
    return held


def test_r7_scoring_ten_times_slower_than_input_for_60_s(pipeline: Pipeline) -> None:
    rate, slow_s, receive_maximum = 200, 60.0, 1_000
    total = int(rate * slow_s)
    # capacity 20 readings/s against 200 arriving: ten times slower than the input
    slow = pipeline.start_worker(
        "r7", env={"FOREWARN_SCORE_DELAY_MS": str(1000 * 10 / rate), "FOREWARN_RECEIVE_MAXIMUM": str(receive_maximum)}
    )
    publisher = pipeline.start_publisher("r7-drill", count=total, rate=rate)
    samples: list[int] = []
    started = time.monotonic()
    while time.monotonic() - started < slow_s:
        samples.append(rss_kib(slow.pid))
        time.sleep(1.0)
    scored_while_slow = pipeline.stored_count()
    held = _held_by_worker((pipeline.root / "worker-r7.log").read_text())
    pipeline.stop_worker("r7", sig=15)
    returned = time.monotonic()
    pipeline.start_worker("r7")  # same session, normal speed: the backlog waited on the broker
    assert pipeline.wait_stored(total, 180), f"only {pipeline.stored_count()} of {total} stored"
    pipeline.wait_publishers(60)
    figures = pipeline.outcome()
    settled = samples[10:]  # after start-up: model loaded, first window filled
    drops = _broker_drops(pipeline)
    report(
        "R7",
        **figures,
        slow_s=slow_s,
        input_rate=rate,
        scored_while_slow=scored_while_slow,
        rss_kib_first=samples[0],
        rss_kib_at_10s=settled[0],
        rss_kib_max=max(samples),
        rss_growth_after_10s_kib=max(settled) - settled[0],
        max_held_unacked=max(held, default=-1),
        broker_drop_lines=len(drops),
        drained_after_return_s=round(time.monotonic() - returned, 1),
        publisher=publisher.stats(),
    )
    assert scored_while_slow < total / 5, "the worker was not actually slowed down"
    # the bounded inbox, plus the batch being scored and one waiting for its confirmations
    assert held, "the worker logged no stats"
    assert max(held) <= receive_maximum + 2 * MAX_BATCH, "the worker holds more than its bound"
    assert max(settled) - settled[0] < 32 * 1024, "worker memory grew with the backlog"
    assert drops == [], "the broker dropped queued messages"
    assert figures["lost"] == 0
    assert figures["stored"] == total
