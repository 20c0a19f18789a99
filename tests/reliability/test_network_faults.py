"""R5: the network between sensor and broker and between worker and broker cut, slowed, reset.

Both links go through a FaultyProxy (tests/support/proxy.py). A cut holds every byte for 15 s,
longer than 1.5 x keepalive: the API must show the machine offline within 1.5 x keepalive + 2 s.
Once the cut heals every client must be back within 2 x keepalive, and no reading may be lost.

Mosquitto 2.0.11 looks for expired keep-alives only every 5 s or so, so its last will comes
1.5 x keepalive plus 0-6 s after the cut (measured and reported here, not asserted). What the
API shows is its own silence rule, FOREWARN_OFFLINE_AFTER_S, set like a deployment should be:
1.5 x the sensors' keepalive.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import runtime_of
from broker.local import LocalBroker
from tests.reliability.harness import Pipeline, report, wait_until
from tests.support.proxy import FaultyProxy

pytestmark = pytest.mark.slow

KEEPALIVE = 6
CUT_S = 15.0
CUTS = 3
RESETS = 3


@pytest.fixture
def pipeline(own_broker: LocalBroker, models_dir: Path, tmp_path: Path) -> Iterator[Pipeline]:
    """The usual pipeline, its API telling silence after 1.5 x keepalive like a deployment would."""
    with Pipeline(own_broker, models_dir, tmp_path) as line:
        line.start_api(offline_after_s=1.5 * KEEPALIVE, housekeeping=True)
        line.start_tally()
        yield line


@pytest.fixture
def proxies(pipeline: Pipeline) -> Iterator[tuple[FaultyProxy, FaultyProxy]]:
    with (
        FaultyProxy("127.0.0.1", pipeline.broker.port) as sensor_link,
        FaultyProxy("127.0.0.1", pipeline.broker.port) as worker_link,
    ):
        yield sensor_link, worker_link


def _online_after(pipeline: Pipeline, topic: str, since: float, timeout: float) -> float:
    """Seconds from `since` to the first "online" status on `topic` after it (inf if none)."""
    tally = pipeline.tally
    assert tally is not None

    def first() -> float | None:
        return next((at for at, state in tally.statuses(topic) if at > since and state == "online"), None)

    wait_until(lambda: first() is not None, timeout, 0.05)
    found = first()
    return round(found - since, 2) if found is not None else float("inf")


def _shown_online(pipeline: Pipeline, machine_id: str) -> bool:
    state = runtime_of(pipeline.api)  # type: ignore[arg-type]
    summary = state.cache.summary(machine_id, state.now_ms())
    return summary is not None and bool(summary["online"])


def _shown_offline_after(pipeline: Pipeline, machine_id: str, since: float, timeout: float) -> float:
    """Seconds from `since` until the API's live state shows the machine offline (inf if never)."""
    shown = wait_until(lambda: not _shown_online(pipeline, machine_id), timeout, 0.05)
    return round(time.monotonic() - since, 2) if shown else float("inf")


def _will_after(pipeline: Pipeline, topic: str, since: float) -> float:
    """Seconds from `since` to the broker's "offline" (the last will) as the observer received it."""
    assert pipeline.tally is not None
    wills = [at for at, state in pipeline.tally.statuses(topic) if at > since and state == "offline"]
    return round(wills[0] - since, 2) if wills else float("inf")


def test_r5_network_cuts_and_resets_between_clients_and_broker(
    pipeline: Pipeline, proxies: tuple[FaultyProxy, FaultyProxy]
) -> None:
    sensor_link, worker_link = proxies
    machine, worker_id = "r5-grinder", "r5"
    keepalive = {"FOREWARN_MQTT_KEEPALIVE": str(KEEPALIVE)}
    pipeline.start_worker(worker_id, port=worker_link.port, env=keepalive)
    publisher = pipeline.start_publisher(machine, count=7_000, rate=100, port=sensor_link.port, keepalive=KEEPALIVE)
    sensor_status = pipeline.broker.topics.status(machine)
    worker_status = pipeline.broker.topics.service_status(f"inference-worker-{worker_id}")
    assert wait_until(lambda: len(pipeline.stored_ids(machine)) > 200, 30), "nothing flows before the faults"

    offline_s, will_s, sensor_back_s, worker_back_s = [], [], [], []
    for _cut in range(CUTS):
        assert wait_until(lambda: _shown_online(pipeline, machine), 30, 0.05), "machine never shown online"
        cut = time.monotonic()
        sensor_link.blackhole()
        worker_link.blackhole()
        offline_s.append(_shown_offline_after(pipeline, machine, cut, CUT_S))
        time.sleep(max(cut + CUT_S - time.monotonic(), 0.0))
        will_s.append(_will_after(pipeline, sensor_status, cut))
        healed = time.monotonic()
        sensor_link.heal()
        worker_link.heal()
        sensor_back_s.append(_online_after(pipeline, sensor_status, healed, 4 * KEEPALIVE))
        worker_back_s.append(_online_after(pipeline, worker_status, healed, 4 * KEEPALIVE))

    sensor_link.delay(0.2)  # a slow link for a while: slower, nothing lost
    worker_link.delay(0.2)
    time.sleep(5)
    sensor_link.delay(0)
    worker_link.delay(0)

    reset_back_s = []
    for _reset in range(RESETS):
        reset = time.monotonic()
        assert sensor_link.reset() >= 1, "no sensor connection to reset"
        assert worker_link.reset() >= 2, "no worker connections to reset"
        back = [_online_after(pipeline, topic, reset, 4 * KEEPALIVE) for topic in (sensor_status, worker_status)]
        reset_back_s.append(max(back))
        time.sleep(1.0)

    pipeline.wait_publishers(180)
    assert pipeline.wait_stored(publisher.count, 120), f"only {pipeline.stored_count()} stored"
    figures = pipeline.outcome()
    report(
        "R5",
        **figures,
        keepalive_s=KEEPALIVE,
        cut_s=CUT_S,
        machine_shown_offline_after_cut_s=offline_s,
        last_will_after_cut_s=will_s,
        sensor_back_after_heal_s=sensor_back_s,
        worker_back_after_heal_s=worker_back_s,
        back_after_reset_s=reset_back_s,
        publisher=publisher.stats(),
    )
    assert figures["lost"] == 0
    assert figures["stored"] == publisher.count
    assert max(offline_s) <= 1.5 * KEEPALIVE + 2, f"machine shown offline after {offline_s} s"
    assert max(sensor_back_s + worker_back_s + reset_back_s) <= 2 * KEEPALIVE, "a client took too long to return"
