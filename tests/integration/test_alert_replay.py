"""bench/alert_replay.py: predictions replayed through the worker's alert rules, snoozes kept by the API's store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.db import create_database_engine
from api.feedback import Feedback
from api.migrations import upgrade
from bench.alert_replay import BEFORE_POLICY, ReplayPolicy, replay_alerts
from contract import Alert, Prediction, format_ts
from tests.support.payloads import example

BASE = replace(Prediction.from_dict(example("prediction")), threshold=0.4, predicted_mode=None, explanation=None)
START = datetime(2026, 1, 1, tzinfo=UTC)
HYSTERESIS = ReplayPolicy("hysteresis", clear_after=20, clear_ratio=0.5)
SNOOZE = ReplayPolicy("snooze", clear_after=5, clear_ratio=1.0, snooze_hours=4.0)


@pytest.fixture
def feedback(tmp_path: Path) -> Feedback:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'replay.db'}")
    upgrade(engine)
    return Feedback(engine)


def _readings(probabilities: list[float | str], machine: str = "m1") -> list[Prediction]:
    """One reading every 10 minutes; "failure" is a reading the machine reports as failed."""
    predictions = []
    for n, value in enumerate(probabilities):
        failed = value == "failure"
        probability = 0.9 if failed else float(value)
        predictions.append(
            replace(
                BASE,
                machine_id=machine,
                reading_id=f"{machine}-{n:04d}",
                ts=format_ts(START + timedelta(minutes=10 * n)),
                status="failure" if failed else "predictive" if probability >= 0.4 else "normal",
                failure_probability=probability,
            )
        )
    return predictions


def _false_alarm(_alert: Alert) -> bool:
    return False


def test_hysteresis_turns_a_flapping_machine_into_one_alert(feedback: Feedback) -> None:
    # Above the threshold, then just under it (0.3: below 0.4, above half of it) for 6 readings, four times.
    predictions = _readings([0.9, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3] * 4, "flapping")
    truth: dict[tuple[str, str], int] = {}
    before = replay_alerts(predictions, truth, BEFORE_POLICY, _false_alarm, feedback)
    after = replay_alerts(predictions, truth, HYSTERESIS, _false_alarm, feedback)
    assert (before.opened, before.notified) == (4, 4)
    assert (after.opened, after.notified) == (1, 1)
    machine_days = len(predictions) * 10 / (24 * 60)
    assert after.per_machine_day(machine_days) < before.per_machine_day(machine_days)


def test_a_failure_under_an_open_notified_alert_is_covered(feedback: Feedback) -> None:
    # The model flags reading 1; the machine fails on reading 4 without reporting it (the model misses it).
    predictions = _readings([0.05, 0.9, 0.3, 0.3, 0.3, 0.05, 0.05], "covered")
    truth = {("covered", "covered-0004"): 1}
    before = replay_alerts(predictions, truth, BEFORE_POLICY, _false_alarm, feedback)
    assert (before.failures, before.missed) == (1, 0)
    late = replay_alerts(predictions[:1] + predictions[2:], truth, BEFORE_POLICY, _false_alarm, feedback)
    assert late.missed == 1  # no alert was open then


def test_a_machine_snooze_after_a_false_alarm_silences_a_reported_failure(feedback: Feedback) -> None:
    # A false alarm on reading 1 (snoozed for 4 h = 24 readings), calm, then a reported failure on reading 12.
    predictions = _readings([0.05, 0.9, *[0.05] * 10, "failure", *[0.05] * 30, 0.9], "snoozed")
    truth = {("snoozed", "snoozed-0012"): 1}
    before = replay_alerts(predictions, truth, BEFORE_POLICY, _false_alarm, feedback)
    after = replay_alerts(predictions, truth, SNOOZE, _false_alarm, feedback)
    assert (before.opened, before.notified, before.missed) == (3, 3, 0)
    # The snooze silenced the detected alert of reading 12 (recorded, not sent); the one of reading 43 is sent.
    assert (after.opened, after.notified, after.snoozes, after.missed) == (3, 2, 2, 1)
    assert after.as_dict(1.0, before)["lost"] == 1
