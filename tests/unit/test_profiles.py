"""Profiles: the AI4I profile holds every constant; bad profiles give one line naming file, line and field."""

from __future__ import annotations

import math

import numpy as np
import pytest

from contract import ProfileError, builtin_profiles, default_profile
from contract.expressions import ExpressionError, parse_expression
from contract.profiles import BUILTIN_DIR, PerCategory, parse_profile
from contract.schemas import document, profile_format_schema, values_schema

AI4I_TEXT = (BUILTIN_DIR / "ai4i-mill.yaml").read_text()

FAN = """
id: fan
name: Test fan
fields:
  - {name: vibration_mm_s, label: vibration, kind: sensor, unit: mm/s, min: 0, max: 100}
  - {name: bearing_temp_c, label: bearing temperature, kind: sensor, unit: °C, min: -40, max: 200}
failure_modes:
  - {code: BRG, name: Bearing Failure}
"""


def test_the_default_profile_is_the_ai4i_mill_with_its_documented_limits() -> None:
    profile = default_profile()
    assert profile.id == "ai4i-mill"
    assert [f.name for f in profile.category_fields] == ["type"]
    assert profile.mode_codes == ("TWF", "HDF", "PWF", "OSF", "RNF")
    assert profile.physics is not None
    overstrain = profile.physics.rules[2].when[0].above
    assert isinstance(overstrain, PerCategory)
    assert overstrain.values == {"L": 11_000, "M": 12_000, "H": 13_000}
    assert (profile.physics.rules[0].when[0].below, profile.physics.rules[0].when[1].below) == (8.6, 1380)
    assert profile.physics.rules[1].when[0].outside == (3500, 9000)
    assert "ai4i-mill" in builtin_profiles()


def test_a_derived_expression_is_evaluated_like_the_arithmetic_it_spells() -> None:
    power = default_profile().expression("power_w")
    torque, speed = np.array([40.0, 65.7]), np.array([1500.0, 1410.0])
    expected = torque * speed * (2.0 * math.pi / 60.0)
    assert np.array_equal(power.evaluate({"torque_nm": torque, "rotational_speed_rpm": speed}), expected)
    assert power.evaluate({"torque_nm": 40.0, "rotational_speed_rpm": 1500.0}) == 40.0 * 1500.0 * (2 * math.pi / 60)


def test_a_small_profile_of_another_machine_is_valid() -> None:
    fan = parse_profile(FAN, "tests/fan.yaml")
    assert fan.numeric_names == ("vibration_mm_s", "bearing_temp_c")
    assert values_schema(fan)["required"] == ["vibration_mm_s", "bearing_temp_c"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("decimals: 1}", "decimals: 1, colour: red}", "profiles/x.yaml:20: fields[1].colour: unknown key 'colour'"),
        ("min: 200, max: 400", "min: 500, max: 400", "profiles/x.yaml:20: fields[1].min: min (500) > max (400)"),
        (
            "expr: process_temp_k - air_temp_k",
            "expr: process_temp_k - air_temp",
            "profiles/x.yaml:54: derived[0].expr: 'air_temp' is not a known field",
        ),
        (
            "expr: process_temp_k - air_temp_k",
            "expr: __import__('os').system('true')",
            "profiles/x.yaml:54: derived[0].expr: function",
        ),
        ("expr: process_temp_k - air_temp_k", "expr: process_temp_k > 1", "derived[0].expr: compare is not allowed"),
        ("expr: process_temp_k - air_temp_k", "expr: process_temp_k.real", "derived[0].expr: attribute is not allowed"),
        ("kind: category", "kind: dial", "profiles/x.yaml:19: fields[0]: kind must be one of"),
        ("name: product_id", "name: failure", "fields[6].name: 'failure' is reserved"),
        (
            "mode: HDF\n      when",
            "mode: XYZ\n      when",
            "physics.rules[0].mode: 'XYZ' is not one of the failure modes",
        ),
        ("version: 1\n", "version: 1\nversion: 2\n", "profiles/x.yaml:17: invalid YAML: key 'version' appears twice"),
        ("{category}", "{category.__class__}", "physics.rules[2].explain.text: placeholder {category.__class__}"),
        ("Torque: torque_nm", "Torque: torq", "csv_columns.Torque: 'torq' is not a field"),
    ],
)
def test_a_bad_profile_is_one_line_naming_file_line_and_field(old: str, new: str, expected: str) -> None:
    assert old in AI4I_TEXT
    with pytest.raises(ProfileError) as caught:
        parse_profile(AI4I_TEXT.replace(old, new, 1), "profiles/x.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert expected in message
    assert message.startswith("profiles/x.yaml:")


def test_a_profile_that_is_not_a_mapping_or_not_yaml_is_refused() -> None:
    with pytest.raises(ProfileError, match=r"^f.yaml:1: a profile is a YAML mapping"):
        parse_profile("- a\n- b\n", "f.yaml")
    with pytest.raises(ProfileError, match=r"^f.yaml: .*invalid YAML|^f.yaml:\d+: invalid YAML"):
        parse_profile("id: [\n", "f.yaml")
    with pytest.raises(ProfileError, match="empty"):
        parse_profile("", "f.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "a.b",
        "a[0]",
        "a if a else b",
        "'text'",
        "a < b",
        "lambda: 1",
        "open('x')",
        "(a for a in b)",
        "a and b",
        "a // b",
        "a % b",
        "True",
        "max(a)",
        "f(a)",
    ],
)
def test_anything_but_arithmetic_is_refused(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text, {"a", "b"})


def test_expressions_take_the_whitelisted_functions_and_constants() -> None:
    expression = parse_expression("max(abs(-a), sqrt(b)) + exp(0) + log(e) - pi + -a ** 2", {"a", "b"})
    assert expression.names == {"a", "b"}
    assert expression.evaluate({"a": 3.0, "b": 4.0}) == max(3.0, 2.0) + 1.0 + 1.0 - math.pi - 9.0
    assert math.isinf(parse_expression("a / b", {"a", "b"}).evaluate({"a": 1.0, "b": 0.0}))


def test_the_json_schemas_come_from_the_models() -> None:
    schema = profile_format_schema()
    assert schema["additionalProperties"] is False
    assert "fields" in schema["required"]
    full = document(builtin_profiles())
    assert set(full["payloads"]) == {"Reading", "Prediction", "Alert", "Rejection", "Status"}
    ai4i = full["profiles"]["ai4i-mill"]
    assert ai4i["reading"]["properties"]["torque_nm"]["maximum"] == 1000
    assert "unknown_profile" in full["vocabularies"]["rejection_reasons"]
    assert full["payloads"]["Prediction"]["properties"]["status"]["enum"] == [
        "normal",
        "predictive",
        "failure",
        "unscored",
    ]
