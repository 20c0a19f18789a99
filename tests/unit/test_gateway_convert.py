"""Conversion and assembly of device values, and Modbus register decoding (no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymodbus.client.mixin import ModbusClientMixin

from contract import InvalidReading
from publisher.gateway.assemble import Assembler, BadValue
from publisher.gateway.mapping import ModbusField, ModbusMapping, OpcUaField, OpcUaMapping, check_mapping
from publisher.gateway.modbus import decode
from publisher.gateway.profile import load_profile
from publisher.gateway.source import parse
from tests.unit.test_gateway_mapping import MODBUS, OPCUA

PROFILE = load_profile("ai4i-mill")


def assembler() -> Assembler:
    mapping, profile, _ = check_mapping(parse(OPCUA, Path("m.yaml")), OpcUaMapping)
    return Assembler(profile, mapping.fields, mapping.constants)


def test_a_reading_is_assembled_from_the_latest_value_of_each_field_plus_constants() -> None:
    parts = assembler()
    for name, raw in {
        "air_temp_k": 25.0,
        "process_temp_k": 35,
        "rotational_speed_rpm": 1500,
        "torque_nm": 40.5,
    }.items():
        parts.update(name, raw)
    assert parts.values() is None
    assert parts.missing == ["tool_wear_min"]
    parts.update("tool_wear_min", 12)
    parts.update("torque_nm", 41.0)
    assert parts.values() == {
        "type": "L",
        "air_temp_k": pytest.approx(298.15),
        "process_temp_k": pytest.approx(308.15),
        "rotational_speed_rpm": 1500.0,
        "torque_nm": 41.0,
        "tool_wear_min": 12.0,
    }


def test_forgetting_means_no_reading_until_every_field_is_seen_again() -> None:
    parts = assembler()
    for name in ("air_temp_k", "process_temp_k", "rotational_speed_rpm", "torque_nm", "tool_wear_min"):
        parts.update(name, 30)
    assert parts.values() is not None
    parts.forget()
    assert parts.values() is None


def test_a_value_outside_the_profiles_bounds_refuses_the_reading() -> None:
    parts = assembler()
    for name in ("air_temp_k", "process_temp_k", "rotational_speed_rpm", "tool_wear_min"):
        parts.update(name, 30)
    parts.update("torque_nm", 5000.0)
    with pytest.raises(InvalidReading) as caught:
        parts.values()
    assert caught.value.reason == "out_of_bounds"


def test_a_value_of_the_wrong_type_is_counted_and_drops_the_stale_one() -> None:
    parts = assembler()
    parts.update("torque_nm", 40.0)
    with pytest.raises(BadValue, match="torque_nm: str 'n/a' is not a number"):
        parts.update("torque_nm", "n/a")
    assert parts.bad_values == 1
    assert "torque_nm" in parts.missing


def test_category_codes_map_through_the_enum() -> None:
    parts = Assembler(PROFILE, {"type": OpcUaField(node="x", enum={1: "M"})}, {})
    parts.update("type", 1)
    with pytest.raises(BadValue, match="code 7"):
        parts.update("type", 7)


def words(kind: str, value: float, word_order: str = "big") -> list[int]:
    datatype = getattr(ModbusClientMixin.DATATYPE, kind.upper())
    return ModbusClientMixin.convert_to_registers(value, datatype, word_order=word_order)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("int16", -1234),
        ("uint16", 65000),
        ("int32", -70000),
        ("uint32", 4_000_000_000),
        ("float32", 40.5),
        ("float64", -1.25),
        ("int64", -(2**40)),
        ("uint64", 2**60),
    ],
)
@pytest.mark.parametrize("word_order", ["big", "little"])
def test_registers_decode_back_to_their_value_in_either_word_order(kind: str, value: float, word_order: str) -> None:
    field = ModbusField(address=0, type=kind, word_order=word_order)
    assert decode(field, words(kind, value, word_order)) == value


def test_byte_order_swaps_the_bytes_of_each_register() -> None:
    swapped = [((w & 0xFF) << 8) | (w >> 8) for w in words("float32", 40.5)]
    field = ModbusField(address=0, type="float32", byte_order="little")
    assert decode(field, swapped) == 40.5
    assert decode(ModbusField(address=0, type="float32"), swapped) != 40.5


def test_a_coil_decodes_to_a_bool_and_counts_as_one_in_a_sensor() -> None:
    coil = ModbusField(table="coil", address=3, type="bool")
    assert decode(coil, [True, False]) is True
    parts = Assembler(PROFILE, {"tool_wear_min": coil}, {})
    parts.update("tool_wear_min", True)
    assert parts._latest["tool_wear_min"] == 1.0


def test_the_modbus_example_mapping_scales_its_registers() -> None:

    mapping, profile, _ = check_mapping(parse(MODBUS, Path("m.yaml")), ModbusMapping)
    parts = Assembler(profile, mapping.fields, mapping.constants)
    raw = {"air_temp_k": [2981], "process_temp_k": [358], "rotational_speed_rpm": words("uint32", 1500, "little")}
    raw |= {
        "torque_nm": [((w & 0xFF) << 8) | (w >> 8) for w in words("float32", 40.5)],
        "tool_wear_min": [12],
        "type": [2],
    }
    for name, registers in raw.items():
        parts.update(name, decode(mapping.fields[name], registers))
    values = parts.values()
    assert values is not None
    assert values["air_temp_k"] == pytest.approx(298.1)
    assert values["process_temp_k"] == pytest.approx(308.95)
    assert (values["rotational_speed_rpm"], values["torque_nm"], values["type"]) == (1500.0, 40.5, "H")
