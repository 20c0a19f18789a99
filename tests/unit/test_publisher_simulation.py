"""The AI4I 2020 simulator: deterministic per seed, realistic values, failures that follow the rules.

The failure rules are written out again here from data/README.md, independently of
publisher.simulation, so a wrong threshold there cannot agree with itself.
"""

from __future__ import annotations

import itertools
import math
from functools import cache
from typing import Any

import numpy as np
import pytest

from contract import default_profile, parse_reading
from publisher.sample import Sample
from publisher.simulation import SimulationError, Simulator

FAILURE_MODES = {mode.code: mode.name for mode in default_profile().failure_modes}
NO_FAILURE = "No Failure"
NAME_TO_CODE = {name: code for code, name in FAILURE_MODES.items()}
WEAR_STEP = {"L": 2, "M": 3, "H": 5}


class _View:
    """A sample's values as attributes, so the checks below read like the dataset's rules."""

    def __init__(self, sample: Sample) -> None:
        self.sample = sample
        self.failure = sample.failure
        self.failure_description = sample.failure_description

    def __getattr__(self, name: str) -> Any:
        return self.sample.values[name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _View) and self.sample == other.sample

    def __hash__(self) -> int:
        return hash(self.sample.failure_description)


@cache
def run(seed: int, machine_type: str | None, steps: int) -> tuple[_View, ...]:
    simulator = Simulator(np.random.default_rng(seed), categories={"type": machine_type} if machine_type else None)
    return tuple(_View(simulator.step()) for _ in range(steps))


def modes(sample: _View) -> set[str]:
    assert sample.failure_description is not None
    if sample.failure_description == NO_FAILURE:
        return set()
    return {NAME_TO_CODE[name] for name in sample.failure_description.split("; ")}


def rule_modes(sample: _View) -> set[str]:
    """HDF, PWF and OSF as the dataset's documentation states them."""
    found = set()
    if sample.process_temp_k - sample.air_temp_k < 8.6 and sample.rotational_speed_rpm < 1380:
        found.add("HDF")
    watts = sample.torque_nm * sample.rotational_speed_rpm * 2 * math.pi / 60
    if watts < 3500 or watts > 9000:
        found.add("PWF")
    if sample.tool_wear_min * sample.torque_nm > {"L": 11_000, "M": 12_000, "H": 13_000}[sample.type]:
        found.add("OSF")
    return found


def test_the_same_seed_gives_the_same_stream() -> None:
    first = Simulator(np.random.default_rng(7)), Simulator(np.random.default_rng(7))
    assert [first[0].step() for _ in range(500)] == [first[1].step() for _ in range(500)]


def test_another_seed_gives_another_stream() -> None:
    assert run(1, None, 50) != run(2, None, 50)


def test_a_fixed_type_is_kept_and_the_default_mixes_like_the_dataset() -> None:
    assert {s.type for s in run(3, "M", 1000)} == {"M"}
    mixed = [s.type for s in run(3, None, 20_000)]
    shares = {t: mixed.count(t) / len(mixed) for t in "LMH"}
    assert shares == pytest.approx({"L": 0.6, "M": 0.3, "H": 0.1}, abs=0.02)


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(SimulationError, match="must be one of L, M, H"):
        Simulator(np.random.default_rng(0), categories={"type": "X"})
    with pytest.raises(SimulationError, match="'colour' is not a category of profile ai4i-mill"):
        Simulator(np.random.default_rng(0), categories={"colour": "red"})


def test_temperatures_torque_and_speed_look_like_the_dataset() -> None:
    samples = run(11, None, 60_000)
    air = np.array([s.air_temp_k for s in samples])
    delta = np.array([s.process_temp_k - s.air_temp_k for s in samples])
    torque = np.array([s.torque_nm for s in samples])
    speed = np.array([s.rotational_speed_rpm for s in samples])
    assert abs(air.mean() - 300) < 1.0
    assert 1.5 < air.std() < 2.5
    assert abs(delta.mean() - 10) < 0.3
    assert 0.7 < delta.std() < 1.3
    assert abs(torque.mean() - 40) < 0.5
    assert 9 < torque.std() < 11
    assert torque.min() >= 0
    assert 1500 < speed.mean() < 1580
    assert 150 < speed.std() < 210
    assert np.corrcoef(speed, torque)[0, 1] < -0.8  # speed follows power: more torque, fewer rpm


def test_temperatures_drift_slowly_like_a_random_walk() -> None:
    air = np.array([s.air_temp_k for s in run(11, None, 60_000)])
    assert np.abs(np.diff(air)).mean() < 0.2  # a tenth of a kelvin per reading, not 2 K jumps


def test_values_are_rounded_like_the_dataset() -> None:
    for sample in run(5, None, 200):
        assert sample.rotational_speed_rpm == int(sample.rotational_speed_rpm)
        assert sample.tool_wear_min == int(sample.tool_wear_min)
        assert round(sample.torque_nm, 1) == sample.torque_nm
        assert round(sample.air_temp_k, 1) == sample.air_temp_k


@pytest.mark.parametrize("machine_type", ["L", "M", "H"])
def test_tool_wear_grows_by_the_type_step_and_resets_at_end_of_life(machine_type: str) -> None:
    wear = [s.tool_wear_min for s in run(21, machine_type, 5_000)]
    resets = 0
    for before, after in itertools.pairwise(wear):
        if after == 0:
            resets += 1
            assert 200 <= before <= 240
        else:
            assert after - before == WEAR_STEP[machine_type]
    assert wear[0] == 0
    assert max(wear) <= 240
    assert resets >= 5_000 * WEAR_STEP[machine_type] // 240


def test_tool_wear_failures_happen_only_where_the_tool_is_replaced() -> None:
    samples = run(11, None, 60_000)
    failures = [i for i, s in enumerate(samples[:-1]) if "TWF" in modes(s)]
    assert failures
    for i in failures:
        assert 200 <= samples[i].tool_wear_min <= 240
        assert samples[i + 1].tool_wear_min == 0


def test_failure_flags_agree_with_the_rules() -> None:
    for sample in run(11, None, 60_000):
        found = modes(sample)
        assert found - {"TWF", "RNF"} == rule_modes(sample)
        assert sample.failure == (1 if found else 0)


def test_every_failure_mode_occurs_over_a_long_run_at_a_plausible_rate() -> None:
    samples = run(11, None, 60_000)
    counts = {code: sum(code in modes(s) for s in samples) for code in FAILURE_MODES}
    rates = {code: count / len(samples) for code, count in counts.items()}
    assert 0.0003 < rates["RNF"] < 0.002  # 0.1 %
    for code in ("TWF", "HDF", "PWF", "OSF"):
        assert 0.002 < rates[code] < 0.03, (code, rates)  # the dataset has 0.5-1.2 % each
    assert 0.02 < sum(s.failure or 0 for s in samples) / len(samples) < 0.06  # dataset: 3.4 %


def test_high_quality_products_overstrain_less_than_low_quality_ones() -> None:
    def osf(machine_type: str) -> int:
        return sum("OSF" in modes(s) for s in run(31, machine_type, 20_000))

    assert osf("L") > osf("H")


def test_every_sample_is_a_valid_reading() -> None:
    for number, sample in enumerate(run(5, None, 2_000)):
        reading = sample.sample.to_reading(f"sim-{number}", "2026-01-01T00:00:00.000Z")
        assert parse_reading(reading.to_json()).to_dict() == reading.to_dict()
