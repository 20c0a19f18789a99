"""The wear early warning: fires before the wear-driven failure region, resets with the tool."""

from __future__ import annotations

import random

import numpy as np

from bench.early_warning import evaluate
from contract import Reading, parse_reading
from inference_worker.early_warning import CounterForecaster, percentile
from tests.support.payloads import encode, reading


def _reading(wear: float, torque: float = 40.0, kind: str = "L") -> Reading:
    return parse_reading(encode(reading(tool_wear_min=wear, torque_nm=torque, type=kind)))


def test_no_warning_on_a_fresh_tool_and_one_near_the_wear_region() -> None:
    forecaster = CounterForecaster(horizon=15)
    assert [forecaster.update("m", _reading(w)) for w in range(0, 150, 10)] == [None] * 15
    warning = forecaster.update("m", _reading(190))
    assert warning is not None
    assert (warning.mode, warning.remaining) == ("TWF", 10)
    assert "10 min of tool use left" in warning.describe()


def test_high_torque_brings_the_overstrain_limit_closer_than_the_wear_region() -> None:
    forecaster = CounterForecaster(horizon=15)
    for wear in range(100, 160, 5):
        forecaster.update("m", _reading(wear, torque=65.0))
    warning = forecaster.update("m", _reading(160, torque=65.0))
    assert warning is not None
    assert warning.mode == "OSF"
    assert round(warning.remaining, 1) == round(11_000 / 65.0 - 160, 1)


def test_a_tool_change_resets_the_history() -> None:
    forecaster = CounterForecaster(horizon=15)
    for wear in range(100, 160, 5):
        forecaster.update("m", _reading(wear, torque=65.0))
    assert forecaster.update("m", _reading(2, torque=40.0)) is None


def test_on_simulated_machines_it_meets_its_targets() -> None:
    report = evaluate(seed=11, readings=6_000)
    assert report.failures > 50
    assert report.warned_share >= 0.90
    assert report.median_lead >= 10
    assert report.false_per_10k <= 5


def test_percentile_is_numpys_to_the_bit() -> None:
    rng = random.Random(7)
    for _ in range(5_000):
        values = [round(rng.uniform(3.0, 77.0), rng.choice([1, 6])) for _ in range(rng.randint(1, 50))]
        for q in (90, 50, 0, 100, 33.3):
            assert percentile(values, q) == float(np.percentile(values, q))


def test_the_warning_says_what_it_always_said_and_names_its_counter() -> None:
    forecaster = CounterForecaster(horizon=15)
    warning = forecaster.update("m", _reading(190))
    assert warning is not None
    assert warning.describe() == (
        "tool wear 190 min: about 10 min of tool use left before the tool-wear failure region (200 min)"
    )
    assert warning.as_dict() == {
        "mode": "TWF",
        "counter": "tool_wear_min",
        "remaining": 10.0,
        "unit": "min",
        "text": warning.describe(),
    }
    inside = forecaster.update("m", _reading(205))
    assert inside is not None
    assert inside.describe() == "tool wear 205 min: inside the tool-wear failure region (200 min)"
