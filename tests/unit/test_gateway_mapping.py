"""Mapping files: every problem is one line naming the file, the line and the field."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from publisher.gateway.mapping import (
    ModbusMapping,
    OpcUaMapping,
    check_mapping,
    check_sparkplug_mapping,
)
from publisher.gateway.source import SourceError, parse

MAP = Path("maps/mill.yaml")

OPCUA = """\
profile: ai4i-mill
interval_s: 0.5
constants: {type: L}
fields:
  air_temp_k: {node: "ns=2;s=Mill.AirTemp", unit: degC, offset: 273.15}
  process_temp_k: {browse_path: "2:Mill/2:ProcessTemp", offset: 273.15}
  rotational_speed_rpm: {node: "ns=2;s=Mill.Speed"}
  torque_nm: {node: "ns=2;s=Mill.Torque", unit: Nm}
  tool_wear_min: {node: "ns=2;s=Mill.ToolWear"}
"""


def errors(text: str, model: type[OpcUaMapping] | type[ModbusMapping] = OpcUaMapping) -> list[str]:
    with pytest.raises(SourceError) as caught:
        check_mapping(parse(dedent(text), MAP), model)  # type: ignore[type-var]
    return str(caught.value).splitlines()


def test_a_good_mapping_keeps_its_conversions_and_constants() -> None:
    mapping, profile, _ = check_mapping(parse(OPCUA, MAP), OpcUaMapping)
    assert profile.id == "ai4i-mill"
    assert mapping.fields["air_temp_k"].apply(25.0) == pytest.approx(298.15)
    assert mapping.constants == {"type": "L"}
    assert mapping.fields["process_temp_k"].browse_path == "2:Mill/2:ProcessTemp"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("torque_nm: {node", "torque_nm: {nod"),
            "maps/mill.yaml:8: fields.torque_nm.nod: Extra inputs are not permitted",
        ),
        (
            ("  tool_wear_min:", "  spindle_temp: {node: x}\n  tool_wear_min:"),
            "maps/mill.yaml:9: fields.spindle_temp: profile ai4i-mill has no field spindle_temp (it has type, "
            "air_temp_k, process_temp_k, rotational_speed_rpm, torque_nm, tool_wear_min, product_id)",
        ),
        (
            ("unit: Nm}", "unit: lbf_ft}"),
            "maps/mill.yaml:8: fields.torque_nm.unit: "
            "the device reports lbf_ft but torque_nm is in Nm: add scale/offset",
        ),
        (("interval_s: 0.5", "interval_s: -1"), "maps/mill.yaml:2: interval_s: Input should be greater than 0"),
        (
            ("constants: {type: L}", "constants: {type: X}"),
            "maps/mill.yaml:3: constants.type: bad_value: type must be one of L, M, H",
        ),
        (
            ("profile: ai4i-mill", "profile: press"),
            "maps/mill.yaml:1: profile: unknown profile 'press' (known: ai4i-mill, turbofan)",
        ),
        (
            ('{node: "ns=2;s=Mill.Speed"}', '{node: "ns=2;s=Mill.Speed", browse_path: "2:Mill/2:Speed"}'),
            "maps/mill.yaml:7: fields.rotational_speed_rpm: Value error, give exactly one of node or browse_path",
        ),
    ],
)
def test_each_problem_is_one_line_with_file_line_and_field(change: tuple[str, str], expected: str) -> None:
    assert errors(OPCUA.replace(*change)) == [expected]


def test_a_required_field_left_unmapped_names_the_fields_line() -> None:
    text = OPCUA.replace('  tool_wear_min: {node: "ns=2;s=Mill.ToolWear"}\n', "")
    assert errors(text) == ["maps/mill.yaml:4: fields: profile ai4i-mill requires tool_wear_min: map it"]


def test_several_problems_are_reported_together() -> None:
    text = OPCUA.replace("unit: Nm}", "unit: Nm, scale: oops}").replace("interval_s: 0.5", "interval_s: 0")
    assert errors(text) == [
        "maps/mill.yaml:2: interval_s: Input should be greater than 0",
        "maps/mill.yaml:8: fields.torque_nm.scale: Input should be a valid number, unable to parse string as a number",
    ]


def test_bad_yaml_names_its_line() -> None:
    assert errors("profile: ai4i-mill\nfields:\n  a: 1\n b: 2\n") == [
        "maps/mill.yaml:4: not valid YAML: expected <block end>, but found '<block mapping start>'"
    ]


MODBUS = """\
profile: ai4i-mill
fields:
  air_temp_k: {table: holding, address: 0, type: uint16, scale: 0.1}
  process_temp_k: {table: holding, address: 1, type: int16, scale: 0.1, offset: 273.15, unit: degC}
  rotational_speed_rpm: {table: input, address: 10, type: uint32, word_order: little}
  torque_nm: {table: holding, address: 20, type: float32, byte_order: little}
  tool_wear_min: {table: input, address: 30}
  type: {table: holding, address: 40, enum: {0: L, 1: M, 2: H}}
"""


def test_a_good_modbus_mapping_knows_each_fields_width() -> None:
    mapping, _, _ = check_mapping(parse(MODBUS, MAP), ModbusMapping)
    assert [f.words for f in mapping.fields.values()] == [1, 1, 2, 2, 1, 1]
    assert mapping.fields["type"].enum == {0: "L", 1: "M", 2: "H"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("table: input, address: 30}", "table: coil, address: 30}"),
            "maps/mill.yaml:7: fields.tool_wear_min: Value error, a coil is a bit: type must be bool",
        ),
        (
            ("address: 20, type: float32", "address: 65535, type: float32"),
            "maps/mill.yaml:6: fields.torque_nm: Value error, float32 at 65535 runs past address 65535",
        ),
        (
            ("type: uint16, scale", "type: uint24, scale"),
            "maps/mill.yaml:3: fields.air_temp_k.type: Input should be 'int16', 'uint16', 'int32', 'uint32', "
            "'int64', 'uint64', 'float32', 'float64' or 'bool'",
        ),
        (("2: H}", "2: X}"), "maps/mill.yaml:8: fields.type.enum: X not among L, M, H"),
        (
            ("scale: 0.1}", "scale: 0.1, enum: {1: L}}"),
            "maps/mill.yaml:3: fields.air_temp_k.enum: air_temp_k is a sensor, not a category",
        ),
    ],
)
def test_modbus_problems_name_their_line(change: tuple[str, str], expected: str) -> None:
    assert errors(MODBUS.replace(*change), ModbusMapping) == [expected]


SPARKPLUG = """\
group: plant-1
host_id: spb-host
machines:
  - machine: mill-3
    profile: ai4i-mill
    edge_node: edge-7
    device: mill
    constants: {type: M}
    fields:
      air_temp_k: {metric: Air/Temp}
      process_temp_k: {metric: Process/Temp}
      rotational_speed_rpm: {metric: Spindle/Speed}
      torque_nm: {metric: Spindle/Torque}
      tool_wear_min: {metric: Tool/Wear}
"""


def test_a_sparkplug_mapping_gives_each_machine_its_profile() -> None:
    mapping, profiles, _ = check_sparkplug_mapping(parse(SPARKPLUG, MAP))
    assert mapping.group == "plant-1"
    assert profiles["mill-3"].id == "ai4i-mill"
    assert mapping.machines[0].fields["torque_nm"].metric == "Spindle/Torque"


def test_sparkplug_problems_name_the_machine_and_line() -> None:
    text = SPARKPLUG.replace("tool_wear_min: {metric: Tool/Wear}", "tool_wear: {metric: Tool/Wear}")
    with pytest.raises(SourceError) as caught:
        check_sparkplug_mapping(parse(text, MAP))
    assert str(caught.value).splitlines() == [
        "maps/mill.yaml:14: machines.0.fields.tool_wear: profile ai4i-mill has no field tool_wear (it has type, "
        "air_temp_k, process_temp_k, rotational_speed_rpm, torque_nm, tool_wear_min, product_id)",
        "maps/mill.yaml:9: machines.0.fields: profile ai4i-mill requires tool_wear_min: map it",
    ]


def test_a_host_id_that_cannot_be_an_account_is_refused() -> None:
    with pytest.raises(SourceError) as caught:
        check_sparkplug_mapping(parse(SPARKPLUG.replace("spb-host", "spb/host"), MAP))
    assert str(caught.value).startswith("maps/mill.yaml:2: host_id: Value error, name 'spb/host' must match")
