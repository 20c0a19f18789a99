"""Features from a profile: for ai4i-mill, bit for bit the features the code computed before profiles."""

from __future__ import annotations

import math

import numpy as np

from contract import default_profile
from contract.profiles import parse_profile
from model.engineering import engineer, feature_spec

FAN = """
id: fan-t
name: Test fan
fields:
  - {name: vibration_mm_s, label: vibration, kind: sensor, unit: mm/s, min: 0, max: 100}
  - {name: bearing_temp_c, label: bearing temperature, kind: sensor, unit: °C, min: -40, max: 200}
failure_modes:
  - {code: BRG, name: Bearing Failure}
derived:
  - {name: heat_load, label: heat × vibration, expr: vibration_mm_s * bearing_temp_c}
physics:
  rules:
    - mode: BRG
      when: [{value: vibration_mm_s, above: 7.1}, {value: bearing_temp_c, above: 90}]
      features: {margin: bearing_margin, flag: bearing_rule}
"""

# The feature code as it was before profiles (model/engineering.py at 55ee1a1), kept here as
# the reference the profile-driven features must reproduce exactly.
_OVERSTRAIN = np.array([11_000.0, 12_000.0, 13_000.0])


def _reference(raw: np.ndarray) -> np.ndarray:
    codes = raw[:, 0].astype(np.intp)
    air, process, rpm, torque, wear = raw[:, 1], raw[:, 2], raw[:, 3], raw[:, 4], raw[:, 5]
    temp_diff = process - air
    power = torque * rpm * (2.0 * math.pi / 60.0)
    wear_torque = wear * torque
    limit = _OVERSTRAIN[codes]
    columns = (
        air,
        process,
        rpm,
        torque,
        wear,
        temp_diff,
        power,
        wear_torque,
        wear_torque / limit,
        np.maximum(temp_diff - 8.6, (rpm - 1380.0) / 100.0),
        np.minimum(power - 3500.0, 9000.0 - power),
        (temp_diff < 8.6) & (rpm < 1380.0),
        (power < 3500.0) | (power > 9000.0),
        wear_torque > limit,
        codes == 0,
        codes == 1,
        codes == 2,
    )
    return np.column_stack(columns).astype(np.float64, copy=False)


def test_ai4i_features_are_the_old_features_to_the_bit() -> None:
    rng = np.random.default_rng(15)
    n = 50_000
    raw = np.column_stack(
        [
            rng.integers(0, 3, n),
            rng.uniform(295, 305, n).round(1),
            rng.uniform(300, 315, n).round(1),
            rng.uniform(1100, 2900, n).round(0),
            rng.uniform(3, 80, n).round(1),
            rng.integers(0, 260, n),
        ]
    ).astype(np.float64)
    raw[:20, 1], raw[:20, 2], raw[:20, 3] = 300.8, 309.4, 1342  # the 8.6 K ties of the seed data
    assert engineer(raw).tobytes() == _reference(raw).tobytes()
    spec = feature_spec(default_profile())
    assert spec.feature_names[8:14] == (
        "overstrain_ratio",
        "heat_margin",
        "power_margin_w",
        "heat_rule",
        "power_rule",
        "overstrain_rule",
    )


def test_another_profile_gets_its_own_fields_derived_margins_and_flags() -> None:
    spec = feature_spec(parse_profile(FAN, "fan.yaml"))
    assert spec.raw_columns == ("vibration_mm_s", "bearing_temp_c")
    assert spec.feature_names == ("vibration_mm_s", "bearing_temp_c", "heat_load", "bearing_margin", "bearing_rule")
    raw = spec.raw_matrix([{"vibration_mm_s": 8.0, "bearing_temp_c": 95.0}, {"vibration_mm_s": 2.0}])
    features = spec.engineer(raw)
    assert features[0].tolist() == [8.0, 95.0, 760.0, max(7.1 - 8.0, 90 - 95.0), 1.0]
    assert math.isnan(features[1, 1])  # a missing value stays missing
    assert features[1, 4] == 0.0
