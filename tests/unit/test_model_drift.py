"""Drift: PSI near zero for data like the training rows, large for shifted data, like with like."""

from __future__ import annotations

import numpy as np

from model.drift import (
    MIN_READINGS,
    assess,
    drift_report,
    pending_report,
    psi,
    readings_needed,
    reference_distribution,
)


def _columns(rng: np.random.Generator, n: int, torque_mean: float = 40.0) -> dict[str, np.ndarray]:
    return {
        "air_temp_k": rng.normal(300, 2, n),
        "process_temp_k": rng.normal(310, 1.5, n),
        "rotational_speed_rpm": rng.normal(1540, 180, n),
        "torque_nm": rng.normal(torque_mean, 10, n),
        "tool_wear_min": rng.uniform(0, 240, n),
    }


def _slow_walk(rng: np.random.Generator, n: int, memory: float = 0.9995) -> np.ndarray:
    """A temperature wandering like AI4I's: mean-reverting, remembering thousands of readings."""
    values = np.empty(n)
    value = 0.0
    for i in range(n):
        value = memory * value + float(rng.normal(0.0, 2.0 * np.sqrt(1 - memory**2)))
        values[i] = 300.0 + value
    return values.round(1)


def test_the_same_process_is_stable_and_a_shifted_sensor_is_flagged() -> None:
    rng = np.random.default_rng(1)
    reference = reference_distribution(_columns(rng, 8000))
    same = {r["feature"]: r for r in drift_report(reference, _columns(rng, 2000))}
    shifted = {r["feature"]: r for r in drift_report(reference, _columns(rng, 2000, torque_mean=55.0))}
    assert set(same) == set(reference)
    assert all(r["level"] == "stable" for r in same.values())
    assert shifted["torque_nm"]["level"] == "significant"
    assert shifted["air_temp_k"]["level"] == "stable"


def test_psi_of_identical_shares_is_zero_and_grows_with_difference() -> None:
    even = np.full(10, 0.1)
    assert psi(even, even) == 0.0
    skewed = np.array([0.5] + [0.5 / 9] * 9)
    assert psi(even, skewed) > psi(even, (even + skewed) / 2) > 0


def test_a_steady_sensor_needs_a_few_hundred_readings_a_slow_one_cannot_be_judged_by_its_distribution() -> None:
    rng = np.random.default_rng(2)
    columns = _columns(rng, 8000) | {"air_temp_k": _slow_walk(rng, 8000)}
    reference = reference_distribution(columns)
    assert MIN_READINGS <= reference["torque_nm"]["window"] <= 800
    assert reference["air_temp_k"]["window"] is None  # fewer than two of its cycles in the training rows
    assert reference["air_temp_k"]["min"] == columns["air_temp_k"].min()
    # A recent stretch of the very training rows: one phase of the slow cycle scores a huge PSI,
    # yet nothing is called drift.
    recent = {name: values[3000:4000][::-1] for name, values in columns.items()}
    report = {e["feature"]: e for e in assess(reference, recent, 1000)}
    assert report["air_temp_k"]["psi"] > 1.0
    assert report["air_temp_k"]["level"] == "pending"
    assert report["air_temp_k"]["needed"] is None
    assert {e["level"] for e in report.values()} <= {"stable", "pending"}


def test_too_few_readings_are_pending_not_judged() -> None:
    rng = np.random.default_rng(3)
    reference = reference_distribution(_columns(rng, 8000))
    few = _columns(rng, MIN_READINGS - 1, torque_mean=70.0)  # far off, but too few to say
    assert drift_report(reference, few) == []
    pending = {p["feature"]: p for p in pending_report(reference, few, 1000)}
    assert set(pending) == set(reference)
    assert pending["torque_nm"]["readings"] == MIN_READINGS - 1
    assert pending["torque_nm"]["needed"] == 1000
    assert readings_needed(reference, 50) == max(MIN_READINGS, *(r["window"] for r in reference.values()))


def test_out_of_range_readings_are_significant_at_once_even_for_a_slow_sensor() -> None:
    rng = np.random.default_rng(4)
    columns = _columns(rng, 8000) | {"air_temp_k": _slow_walk(rng, 8000)}
    reference = reference_distribution(columns)
    history = {name: values[:2000][::-1] for name, values in columns.items()}  # newest first
    high = reference["air_temp_k"]["max"] + 5.0
    for shifted in range(1, 10):  # the latest `shifted` readings come from a sensor 5 K too hot
        recent = dict(history) | {"air_temp_k": np.concatenate([np.full(shifted, high), history["air_temp_k"]])}
        levels = {e["feature"]: (e["level"], e["basis"]) for e in assess(reference, recent, 1000)}
        if levels["air_temp_k"][0] == "significant":
            break
    assert levels["air_temp_k"] == ("significant", "range")
    assert shifted == 5  # 5 % of the latest 100 readings


def test_a_card_from_before_windows_and_ranges_still_gives_a_report() -> None:
    rng = np.random.default_rng(5)
    reference = reference_distribution(_columns(rng, 8000))
    old = {name: {"edges": spec["edges"], "shares": spec["shares"]} for name, spec in reference.items()}
    report = drift_report(old, _columns(rng, 500, torque_mean=60.0))
    levels = {e["feature"]: e["level"] for e in report}
    assert levels["torque_nm"] == "significant"
    assert levels["air_temp_k"] == "stable"
