"""The four designs measured side by side, each through the same three phases.

* drain: readings pre-queued in the consumer's persistent session while it is stopped;
  then it starts and the clock runs until every prediction is received (the seed's
  design is cut off after `window` seconds). Also gives start-up to first prediction.
* latency: readings offered at a fixed 1,000/s; publish -> prediction received.
* sustained: readings offered at a fixed higher rate; what is delivered, how late.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import Collector, Published, Services, StatusWatcher, forget_session, publish, service_env
from bench.procstat import cpu_seconds, peak_rss_mb
from broker.local import LocalBroker
from common.mqtt import MqttSettings
from contract import Channel

GRACE_S = 10.0  # after the last publish, how long late predictions still count
BOUNDED_GRACE_S = 5.0  # the same for the seed's design, which never catches up


@dataclass
class Context:
    """Everything the scenarios share: broker, accounts, sizes."""

    broker: LocalBroker
    models_dir: Path
    folder: Path
    sensor: MqttSettings
    viewer: MqttSettings  # collects predictions
    echo: MqttSettings  # the echo design's subscriber
    watcher: StatusWatcher
    backlog: int = 50_000
    window_s: float = 20.0  # the seed design's time bound per phase
    latency_rate: float = 1_000.0
    latency_s: float = 5.0
    sustained_rate: float = 5_000.0
    sustained_s: float = 5.0

    @property
    def reading_topic(self) -> str:
        return self.broker.topics.readings(self.sensor.username)

    def broker_cpu(self) -> float:
        assert self.broker.process is not None
        return cpu_seconds(self.broker.process.pid)


def first_arrivals(records: list[tuple[bytes, float]], tag: str) -> tuple[dict[int, float], int]:
    """{sequence number: first arrival} of one run's ids, and how many duplicates came."""
    prefix = f"{tag}-".encode()
    first: dict[int, float] = {}
    duplicates = 0
    for rid, arrived in records:
        if rid.startswith(prefix):
            seq = int(rid[len(prefix) :])
            if seq in first:
                duplicates += 1
            else:
                first[seq] = arrived
    return first, duplicates


def drain(
    ctx: Context, start: Callable[[], None], collector: Collector, cpu: Callable[[], float], bounded: bool
) -> dict[str, Any]:
    """Pre-queue the backlog, start the consumer, time it until the last prediction."""
    publish(ctx.sensor, ctx.reading_topic, "drain", ctx.backlog)
    time.sleep(0.5)  # let the broker settle after the burst
    broker_cpu, cpu_before = ctx.broker_cpu(), cpu()
    started = time.monotonic()
    start()
    limit = started + (ctx.window_s if bounded else 120.0)
    collector.wait_for(ctx.backlog, limit)
    ended = time.monotonic()
    cpu_used, broker_used = cpu() - cpu_before, ctx.broker_cpu() - broker_cpu
    first, duplicates = first_arrivals(collector.take(), "drain")
    received = len(first)
    complete = received >= ctx.backlog
    if not first:
        return {"readings": ctx.backlog, "received": 0, "complete": False, "rate": 0.0, "startup_s": None}
    t_first, t_last = min(first.values()), max(first.values())
    span = (t_last if complete else ended) - t_first
    return {
        "readings": ctx.backlog,
        "received": received,
        "duplicates": duplicates,
        "complete": complete,
        "seconds": round(span, 3),
        "rate": round(received / span, 1) if span > 0 else 0.0,
        "startup_s": round(t_first - started, 3),
        "cpu_s": round(cpu_used, 2),
        "cpu_ms_per_1k": round(1000 * cpu_used / received * 1000, 1),
        "broker_cpu_s": round(broker_used, 2),
    }


def live(
    ctx: Context,
    collector: Collector,
    cpu: Callable[[], float],
    *,
    tag: str,
    rate: float,
    seconds: float,
    grace: float = GRACE_S,
) -> dict[str, Any]:
    """Offer readings at `rate` for `seconds`; latency and delivery of their predictions."""
    count = int(rate * seconds)
    broker_cpu, cpu_before = ctx.broker_cpu(), cpu()
    sent = publish(ctx.sensor, ctx.reading_topic, tag, count, rate)
    collector.wait_for(count, max(time.monotonic(), sent.finished) + grace)
    cpu_used, broker_used = cpu() - cpu_before, ctx.broker_cpu() - broker_cpu
    first, duplicates = first_arrivals(collector.take(), tag)
    return _live_figures(sent, first, duplicates) | {
        "offered_rate": rate,
        "cpu_s": round(cpu_used, 2),
        "broker_cpu_s": round(broker_used, 2),
    }


def _live_figures(sent: Published, first: dict[int, float], duplicates: int) -> dict[str, Any]:
    latencies = np.array([arrived - sent.sent[seq] for seq, arrived in first.items()]) * 1000
    figures: dict[str, Any] = {
        "sent": len(sent.sent),
        "published_rate": round(sent.rate, 1),
        "received": len(first),
        "missing": len(sent.sent) - len(first),
        "duplicates": duplicates,
    }
    if len(first):
        span = max(first.values()) - sent.started
        figures |= {
            "delivered_rate": round(len(first) / span, 1),
            "p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "p99_ms": round(float(np.percentile(latencies, 99)), 2),
            "max_ms": round(float(latencies.max()), 2),
        }
    return figures


@contextmanager
def prediction_collector(ctx: Context) -> Iterator[Collector]:
    collector = Collector(ctx.viewer, [ctx.broker.topics.all_of(Channel.PREDICTIONS)])
    collector.start()
    try:
        yield collector
    finally:
        collector.stop()


def echo(ctx: Context) -> dict[str, Any]:
    """(1) paho publisher -> broker -> paho subscriber: the ceiling, no scoring."""
    settings = ctx.echo
    collector = Collector(settings, [ctx.broker.topics.all_of(Channel.READINGS)], persistent=True)
    collector.start()
    collector.stop()  # the session (and its subscription) stays: the backlog queues for it

    def cpu() -> float:
        return cpu_seconds(collector.pid) if collector.process is not None else 0.0

    try:
        result: dict[str, Any] = {"drain": drain(ctx, collector.start, collector, cpu, bounded=False)}
        result["echo"] = _echo_live(ctx, collector, cpu)
        result["latency"] = live(ctx, collector, cpu, tag="lat", rate=ctx.latency_rate, seconds=ctx.latency_s)
        result["sustained"] = live(ctx, collector, cpu, tag="sus", rate=ctx.sustained_rate, seconds=ctx.sustained_s)
        result["peak_rss_mb"] = round(peak_rss_mb(collector.pid), 1)
    finally:
        collector.stop()
        forget_session(settings)
    return result


def _echo_live(ctx: Context, collector: Collector, cpu: Callable[[], float]) -> dict[str, Any]:
    """The echo limit: publish the backlog's size as fast as possible while subscribed."""
    cpu_before = cpu()
    sent = publish(ctx.sensor, ctx.reading_topic, "echo", ctx.backlog)
    collector.wait_for(ctx.backlog, time.monotonic() + GRACE_S)
    first, duplicates = first_arrivals(collector.take(), "echo")
    figures = _live_figures(sent, first, duplicates)
    figures["rate"] = figures.get("delivered_rate", 0.0)
    used = cpu() - cpu_before
    return figures | {
        "cpu_s": round(used, 2),
        "subscriber_us_per_msg": round(1e6 * used / max(len(first), 1), 1),
        "publisher_us_per_msg": round(1e6 * sent.cpu_s / max(len(sent.sent), 1), 1),
    }


def services(ctx: Context, name: str, module: str, ids: list[str], bounded: bool = False) -> dict[str, Any]:
    """(2)-(4): service processes on a shared subscription, predictions collected."""
    env = service_env(ctx.broker, ctx.models_dir, f"bench-{name}")
    group = Services(ctx.broker, module, ids, env, ctx.folder / f"{name}.log")
    result: dict[str, Any] = {}
    with prediction_collector(ctx) as collector:
        try:
            _start_online(ctx, group)  # creates the persistent sessions
            # SIGKILL keeps every session in the group; on SIGTERM all but the last would leave it.
            group.stop(signal.SIGKILL)
            result["drain"] = drain(ctx, group.start, collector, group.cpu, bounded)
            for phase, rate, seconds in (
                ("latency", ctx.latency_rate, ctx.latency_s),
                ("sustained", ctx.sustained_rate, ctx.sustained_s),
            ):
                if bounded:  # drop the backlog it could not take, so phases do not mix
                    _restart_clean(ctx, group)
                group.sample_rss()
                result[phase] = live(
                    ctx,
                    collector,
                    group.cpu,
                    tag=phase[:3],
                    rate=rate,
                    seconds=seconds,
                    grace=BOUNDED_GRACE_S if bounded else GRACE_S,
                )
            group.sample_rss()
        finally:
            group.stop()
            group.forget()
    result["peak_rss_mb"] = round(max(group.peak_rss.values(), default=0.0), 1)
    result["peak_rss_mb_per_process"] = [round(v, 1) for v in group.peak_rss.values()]  # every start
    return result


def _start_online(ctx: Context, group: Services) -> None:
    topics = group.status_topics()
    before = [ctx.watcher.online_count(topic) for topic in topics]
    group.start()
    for topic, count in zip(topics, before, strict=True):
        ctx.watcher.wait_online(topic, count, timeout=60)


def _restart_clean(ctx: Context, group: Services) -> None:
    group.stop()
    group.forget()
    _start_online(ctx, group)
