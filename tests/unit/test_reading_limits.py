"""The pure rules behind issue 14's reading limits: the future-time rule, the per-sensor quota,
the log sampler, and the API's latest-state and liveness rules (no I/O: clocks are passed in)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.rows import ms_to_ts
from api.state import MachineState, StateCache
from contract import DEFAULT_MAX_FUTURE_S, REJECTION_REASONS, InvalidReading, format_ts, parse_reading
from inference_worker.metrics import LogSampler
from inference_worker.quota import Refusal, SensorQuota
from tests.support.payloads import encode, reading

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
OFFLINE_AFTER_MS = 60_000
T0 = 1_795_000_000_000

# ----------------------------------------------------------------------------- future readings


def _dated(seconds_ahead: float) -> bytes:
    return encode(reading(ts=format_ts(NOW + timedelta(seconds=seconds_ahead))))


@pytest.mark.parametrize("ahead", [-86_400 * 30, 0, 60, DEFAULT_MAX_FUTURE_S])
def test_a_reading_up_to_the_limit_ahead_or_any_time_behind_is_accepted(ahead: float) -> None:
    assert parse_reading(_dated(ahead), now=NOW).ts == format_ts(NOW + timedelta(seconds=ahead))


@pytest.mark.parametrize("ts", ["2026-11-27T08:05:00.001Z", "2100-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"])
def test_a_reading_further_ahead_than_the_limit_is_a_bad_timestamp(ts: str) -> None:
    with pytest.raises(InvalidReading) as refused:
        parse_reading(encode(reading(ts=ts)), now=NOW)
    assert (refused.value.reason, refused.value.field) == ("bad_timestamp", "ts")
    assert "ahead of the clock" in refused.value.detail


def test_the_limit_is_a_parameter_and_no_clock_means_no_check() -> None:
    with pytest.raises(InvalidReading):
        parse_reading(_dated(11), now=NOW, max_future_s=10)
    assert parse_reading(_dated(10), now=NOW, max_future_s=10)
    assert parse_reading(encode(reading(ts="9999-12-31T23:59:59Z"))).ts.startswith("9999")  # no `now`: no clock


def test_rate_limited_is_a_rejection_reason_of_the_contract() -> None:
    assert "rate_limited" in REJECTION_REASONS


# ----------------------------------------------------------------------------- the quota


def test_a_burst_passes_then_the_rate_and_each_machine_has_its_own_bucket() -> None:
    quota = SensorQuota(rate=10, burst=5, report_every_s=1.0)
    assert [quota.take("a", 0.0) for _ in range(5)] == [None] * 5
    assert quota.take("a", 0.0) == Refusal(1)  # the first refusal is reported at once
    assert quota.take("b", 0.0) is None  # another sensor is untouched
    assert quota.take("a", 0.05) == Refusal(0)  # half a token: refused, reported later
    assert quota.take("a", 0.1) is None  # one token back after 1/rate s
    assert quota.take("a", 0.1) == Refusal(0)


def test_a_sustained_flood_gets_exactly_the_rate_through() -> None:
    quota = SensorQuota(rate=100, burst=50)
    admitted = sum(quota.take("flood", n / 10_000) is None for n in range(100_000))  # 10,000/s for 10 s
    assert admitted == pytest.approx(50 + 100 * 10, abs=2)


def test_refusals_are_reported_once_per_interval_with_their_count() -> None:
    quota = SensorQuota(rate=1, burst=1, report_every_s=1.0)
    quota.take("m", 0.0)
    verdicts = [quota.take("m", 0.0 + n * 0.001) for n in range(1, 2_001)]  # 2,000 readings in 2 s
    reports = [v.report for v in verdicts if v is not None and v.report]
    refused = sum(v is not None for v in verdicts)
    assert len(reports) == 2  # at 0.001 s and at 1.001 s
    assert reports[0] == 1
    assert sum(reports) <= refused


def test_a_clock_going_back_adds_no_tokens() -> None:
    quota = SensorQuota(rate=1000, burst=1)
    assert quota.take("m", 10.0) is None
    assert quota.take("m", 5.0) is not None


def test_a_quota_needs_a_positive_rate_and_burst() -> None:
    with pytest.raises(ValueError, match="rate above 0"):
        SensorQuota(rate=0, burst=1)


def test_the_log_sampler_logs_the_first_at_once_then_one_line_per_interval_with_its_count() -> None:
    sampler = LogSampler(every_s=10.0)
    assert sampler.add("k", 1, 0.0) == 1
    assert [sampler.add("k", 5, t) for t in (1.0, 2.0, 9.9)] == [0, 0, 0]
    assert sampler.add("k", 1, 10.0) == 16
    assert sampler.add("other", 3, 10.0) == 3


# ----------------------------------------------------------------------------- the API's state


def _prediction(reading_id: str) -> dict[str, Any]:
    return {"machine_id": "m", "reading_id": reading_id, "status": "normal", "threshold": 0.4}


def test_a_late_reading_is_counted_but_does_not_replace_the_latest() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.add_predictions([_prediction("now")], [T0], T0)
    cache.add_predictions([_prediction("an-hour-old")], [T0 - 3_600_000], T0 + 1_000)  # the outbox after an outage
    summary = cache.summary("m", T0 + 1_000)
    assert summary is not None
    assert summary["latest"]["reading_id"] == "now"
    assert summary["counts"]["readings"] == 2


def test_liveness_follows_arrival_so_a_reading_dated_ahead_does_not_keep_a_machine_online() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.add_predictions([_prediction("ahead")], [T0 + 290_000], T0)  # within the worker's 5 minutes
    assert cache.summary("m", T0 + OFFLINE_AFTER_MS)["online"] is True  # type: ignore[index]
    went = cache.sweep(T0 + OFFLINE_AFTER_MS + 1)
    assert [(kind, data["online"]) for kind, data in went] == [("status", False)]


def test_liveness_follows_arrival_so_old_readings_arriving_now_show_the_machine_online() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    events = cache.add_predictions([_prediction("old")], [T0 - 3_600_000], T0)
    assert [data["online"] for kind, data in events if kind == "status"] == [True]
    assert cache.summary("m", T0)["last_seen"] == ms_to_ts(T0)  # type: ignore[index]  # arrival, not the reading


def test_an_online_status_dated_ahead_counts_from_its_arrival() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.set_status("m", "online", T0 + 10 * 365 * 86_400_000, T0)
    assert cache.sweep(T0 + OFFLINE_AFTER_MS + 1)[0][1]["online"] is False


def test_at_start_the_message_time_stands_in_for_arrival_but_never_past_the_start() -> None:
    cache = StateCache(OFFLINE_AFTER_MS)
    cache.load_machine(MachineState("m", latest_ts_ms=T0 + 10**12, counts=Counter(readings=1)), T0)
    assert cache.summary("m", T0)["online"] is True  # type: ignore[index]
    assert cache.summary("m", T0 + OFFLINE_AFTER_MS + 1)["online"] is False  # type: ignore[index]
