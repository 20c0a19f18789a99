"""The event hub (ids, replay, gaps), the stream cap and the write rate limiter."""

from __future__ import annotations

import threading
import time

from api.events import EventHub, StreamLimiter, format_event
from api.security import RateLimiter


def test_events_get_increasing_ids_and_replay_after_a_given_id() -> None:
    hub = EventHub(capacity=10, first_id=100)
    published = [hub.publish("prediction", {"n": n}) for n in range(3)]
    assert [event.id for event in published] == [100, 101, 102]
    events, gap = hub.after(100)
    assert [event.id for event in events] == [101, 102]
    assert gap is False
    assert hub.after(102) == ([], False)


def test_a_client_too_far_behind_is_told_of_the_gap() -> None:
    hub = EventHub(capacity=3, first_id=1)
    for n in range(6):
        hub.publish("prediction", {"n": n})
    events, gap = hub.after(1)
    assert [event.id for event in events] == [4, 5, 6]
    assert gap is True
    assert hub.after(3) == (events, False)


def test_ids_of_a_new_hub_are_above_those_of_an_older_one() -> None:
    first = EventHub()
    last_of_first = first.publish("status", {}).id
    time.sleep(0.002)
    assert EventHub().publish("status", {}).id > last_of_first


def test_a_waiting_stream_wakes_on_publish_and_on_close() -> None:
    hub = EventHub(first_id=1)
    threading.Timer(0.05, lambda: hub.publish("alert", {"a": 1})).start()
    started = time.monotonic()
    assert [event.kind for event in hub.wait_after(0, timeout=5)] == ["alert"]
    assert time.monotonic() - started < 5
    assert hub.wait_after(1, timeout=0.05) == []
    threading.Timer(0.05, hub.close).start()
    assert hub.wait_after(1, timeout=5) == []
    assert hub.closed


def test_the_event_framing_is_text_event_stream() -> None:
    event = EventHub(first_id=7).publish("prediction", {"reading_id": "r"})
    assert format_event(event) == 'id: 7\nevent: prediction\ndata: {"reading_id":"r"}\n\n'


def test_streams_are_capped_per_client_and_in_total() -> None:
    limiter = StreamLimiter(per_client=2, total=3)
    assert limiter.acquire("a")
    assert limiter.acquire("a")
    assert not limiter.acquire("a")
    assert limiter.acquire("b")
    assert not limiter.acquire("c")  # total reached
    limiter.release("a")
    assert limiter.acquire("c")
    assert limiter.open_streams() == 3


def test_the_rate_limiter_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=10, burst=20, clock=lambda: now[0])
    assert all(limiter.take("ip") == 0 for _ in range(20))
    wait = limiter.take("ip")
    assert 0 < wait <= 0.1
    assert limiter.take("other") == 0  # buckets are per client
    now[0] += 0.1
    assert limiter.take("ip") == 0
    assert limiter.take("ip") > 0


def test_a_batch_of_events_reaches_a_waiting_stream_in_one_wake_up() -> None:
    hub = EventHub(capacity=10, first_id=1)
    batch = [("prediction", {"n": n}) for n in range(3)]
    threading.Timer(0.05, lambda: hub.publish_many(batch)).start()
    events = hub.wait_after(0, timeout=5)  # woken once: the whole batch is there
    assert [(event.id, event.payload) for event in events] == [(1, {"n": 0}), (2, {"n": 1}), (3, {"n": 2})]
    hub.publish_many([])  # nothing to add: no id taken
    assert hub.publish("status", {}).id == 4
