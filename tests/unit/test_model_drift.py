"""Drift: PSI near zero for data like the training rows, large for shifted data."""

from __future__ import annotations

import numpy as np

from model.drift import drift_report, psi, reference_distribution


def _columns(rng: np.random.Generator, n: int, torque_mean: float = 40.0) -> dict[str, np.ndarray]:
    return {
        "air_temp_k": rng.normal(300, 2, n),
        "process_temp_k": rng.normal(310, 1.5, n),
        "rotational_speed_rpm": rng.normal(1540, 180, n),
        "torque_nm": rng.normal(torque_mean, 10, n),
        "tool_wear_min": rng.uniform(0, 240, n),
    }


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
