"""Feature engineering on rows whose values are computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from contract import Reading
from model.engineering import FEATURE_NAMES, RAW_COLUMNS, engineer, raw_matrix
from model.features import FeatureBuilder

TYPE_CODES = {"L": 0, "M": 1, "H": 2}  # the order of the ai4i-mill profile's type values


def _features(raw_row: list[float]) -> dict[str, float]:
    values = engineer(np.array([raw_row]))[0]
    return dict(zip(FEATURE_NAMES, values, strict=True))


def _reading(type_: str = "M", **numbers: float) -> Reading:
    values: dict[str, float | str] = {
        "type": type_,
        "air_temp_k": 298.1,
        "process_temp_k": 308.6,
        "rotational_speed_rpm": 1551.0,
        "torque_nm": 42.8,
        "tool_wear_min": 0.0,
    }
    values.update(numbers)
    return Reading(reading_id="r1", ts="2026-01-01T00:00:00.000Z", values=values)


def test_first_seed_row_by_hand() -> None:
    # M14860: M, 298.1 K, 308.6 K, 1551 rpm, 42.8 Nm, 0 min
    f = _features([1, 298.1, 308.6, 1551, 42.8, 0])
    power = 42.8 * 1551 * 2 * math.pi / 60  # 6951.59 W
    assert f["temp_diff_k"] == pytest.approx(10.5)
    assert f["power_w"] == pytest.approx(power)
    assert f["power_w"] == pytest.approx(6951.59, abs=0.01)
    assert f["wear_torque"] == 0
    assert f["overstrain_ratio"] == 0
    assert f["heat_margin"] == pytest.approx(max(10.5 - 8.6, (1551 - 1380) / 100))
    assert f["power_margin_w"] == pytest.approx(9000 - power)
    assert (f["type_L"], f["type_M"], f["type_H"]) == (0, 1, 0)
    assert [f[name] for name in RAW_COLUMNS[1:]] == [298.1, 308.6, 1551, 42.8, 0]


@pytest.mark.parametrize(("code", "limit"), [(0, 11_000), (1, 12_000), (2, 13_000)])
def test_overstrain_ratio_uses_the_type_limit(code: int, limit: int) -> None:
    f = _features([code, 300, 310, 1400, 60, 200])
    assert f["wear_torque"] == pytest.approx(12_000)
    assert f["overstrain_ratio"] == pytest.approx(12_000 / limit)


def test_heat_margin_is_negative_only_inside_the_heat_failure_region() -> None:
    inside = _features([0, 302.0, 310.0, 1300, 40, 10])  # 8.0 K, 1300 rpm
    too_fast = _features([0, 302.0, 310.0, 1500, 40, 10])
    too_warm = _features([0, 300.0, 310.0, 1300, 40, 10])
    assert inside["heat_margin"] == pytest.approx(max(8.0 - 8.6, -0.8))
    assert inside["heat_margin"] < 0
    assert too_fast["heat_margin"] > 0
    assert too_warm["heat_margin"] > 0


@pytest.mark.parametrize(("rpm", "torque", "negative"), [(1500, 20, True), (2800, 60, True), (1500, 40, False)])
def test_power_margin_is_negative_outside_the_power_band(rpm: float, torque: float, negative: bool) -> None:
    f = _features([0, 300, 310, rpm, torque, 10])
    assert bool(f["power_margin_w"] < 0) == negative


def test_raw_matrix_follows_raw_columns_order() -> None:
    raw = raw_matrix([_reading("H", tool_wear_min=17.0), _reading("L", torque_nm=50.0)])
    assert raw.dtype == np.float64
    assert raw.shape == (2, len(RAW_COLUMNS))
    assert raw[0].tolist() == [TYPE_CODES["H"], 298.1, 308.6, 1551.0, 42.8, 17.0]
    assert raw[1, 0] == TYPE_CODES["L"]
    assert raw[1, 4] == 50.0


def test_raw_matrix_of_no_readings_has_six_columns() -> None:
    assert raw_matrix([]).shape == (0, 6)


def test_engineer_refuses_wrong_shape_and_type_code() -> None:
    with pytest.raises(ValueError, match="shape"):
        engineer(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="type_code"):
        engineer(np.array([[3, 300, 310, 1500, 40, 10]], dtype=float))


def test_feature_builder_is_engineer_inside_a_pipeline() -> None:
    raw = np.array([[0, 300, 310, 1500, 40, 10], [2, 301, 311, 1400, 50, 100]], dtype=float)
    builder = Pipeline([("features", FeatureBuilder())]).fit(raw)
    assert np.array_equal(builder.transform(raw), engineer(raw))
    assert engineer(raw).shape == (2, len(FEATURE_NAMES))
    assert tuple(FeatureBuilder().get_feature_names_out()) == FEATURE_NAMES


@pytest.mark.parametrize(
    ("air", "process", "rpm", "flag"),
    [
        (300.8, 309.4, 1342, 1.0),  # 8.599999999999966 K: labelled HDF in the seed data
        (302.2, 310.8, 1340, 0.0),  # 8.600000000000023 K: labelled no failure
        (300.8, 309.4, 1380, 0.0),  # fast enough to dissipate heat
    ],
)
def test_heat_rule_compares_like_the_labels(air: float, process: float, rpm: float, flag: float) -> None:
    assert _features([0, air, process, rpm, 40, 10])["heat_rule"] == flag


@pytest.mark.parametrize(
    ("code", "wear", "torque", "flag"),
    [(0, 200, 55.0, 0.0), (0, 200, 55.1, 1.0), (1, 200, 60.1, 1.0), (2, 200, 60.1, 0.0)],
)
def test_overstrain_rule_is_strictly_above_the_type_limit(code: int, wear: float, torque: float, flag: float) -> None:
    assert _features([code, 300, 310, 1500, torque, wear])["overstrain_rule"] == flag


@pytest.mark.parametrize(("rpm", "torque", "flag"), [(1500, 20, 1.0), (2800, 60, 1.0), (1500, 40, 0.0)])
def test_power_rule_flags_power_outside_the_band(rpm: float, torque: float, flag: float) -> None:
    assert _features([0, 300, 310, rpm, torque, 10])["power_rule"] == flag
