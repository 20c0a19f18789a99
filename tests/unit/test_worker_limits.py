"""The worker's core with a fake model: the future-time rule and the per-sensor quota in a batch.

Clocks are injected, so what is refused, reported and counted is exact.
"""

from __future__ import annotations

import numpy as np

from contract import Topics, default_profile, format_ts, parse_ts
from inference_worker.alerts import AlertTracker
from inference_worker.core import BatchProcessor, Incoming
from inference_worker.quota import SensorQuota
from model.engineering import feature_spec
from model.scoring import ScoreBatch
from tests.support.payloads import encode, reading

TOPICS = Topics()
NOW = "2026-11-27T08:00:00.000Z"


class HealthyScorer:
    """Every reading is healthy: the tests here are about which readings get scored at all."""

    version = "0123456789ab"
    threshold = 0.5
    spec = feature_spec(default_profile())

    def score(self, raw: np.ndarray) -> ScoreBatch:
        return ScoreBatch(np.full(len(raw), 0.1), [None] * len(raw))


def _processor(quota: SensorQuota | None, ticks: list[float]) -> BatchProcessor:
    scorer = HealthyScorer()
    return BatchProcessor(
        TOPICS,
        lambda _profile: scorer,
        AlertTracker(5),
        lambda: NOW,
        lambda _machine: default_profile(),
        max_future_s=300.0,
        quota=quota,
        monotonic=lambda: ticks[0],
    )


def _message(machine: str, **fields: object) -> Incoming:
    return Incoming(TOPICS.readings(machine), encode(reading(ts=NOW, **fields)))


def test_a_machine_over_its_quota_is_refused_reported_once_and_counted_and_others_go_on() -> None:
    ticks = [0.0]
    processor = _processor(SensorQuota(rate=10, burst=3), ticks)
    batch = [_message("flood") for _ in range(10)] + [_message("steady")]
    result = processor.process(batch)
    assert sorted(p.machine_id for p in result.predictions) == ["flood"] * 3 + ["steady"]
    reported = [(m, r) for m, r in result.rejections if r.reason == "rate_limited"]
    assert [m for m, _r in reported] == ["flood"]  # one report for the seven
    assert "1 refused since the last report" in reported[0][1].detail
    assert result.rate_limited == {"flood": 7}
    assert result.rejection_counts() == {"rate_limited": 7}
    ticks[0] = 0.2  # 2 tokens back; the next report is not due yet
    later = processor.process([_message("flood") for _ in range(7)])
    assert len(later.predictions) == 2
    assert later.rejections == []
    assert later.rejection_counts() == {"rate_limited": 5}
    ticks[0] = 1.0  # a second after the first report: the next refusal reports those since
    last = processor.process([_message("flood") for _ in range(7)])
    assert len(last.predictions) == 3  # the bucket holds 3 at most
    # 6 after the first report, 5 in the second batch and this one
    assert [r.detail.split(": ")[-1] for _m, r in last.rejections] == ["12 refused since the last report"]
    assert last.rejection_counts() == {"rate_limited": 4}


def test_a_reading_dated_over_the_limit_ahead_is_a_bad_timestamp_and_a_late_one_is_scored() -> None:
    processor = _processor(None, [0.0])
    now = parse_ts(NOW)
    ahead = Incoming(TOPICS.readings("m"), encode(reading(ts="2026-11-27T08:05:00.001Z")))
    late = Incoming(TOPICS.readings("m"), encode(reading(ts=format_ts(now.replace(hour=2)))))
    result = processor.process([ahead, late])
    assert [(r.reason, r.field) for _m, r in result.rejections] == [("bad_timestamp", "ts")]
    assert [p.ts for p in result.predictions] == ["2026-11-27T02:00:00.000Z"]
