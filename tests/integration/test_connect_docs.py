"""The mapping examples in docs/CONNECT.md are valid mappings (the AI4I ones, against the profile)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from publisher.gateway.mapping import ModbusMapping, OpcUaMapping, check_mapping, check_sparkplug_mapping
from publisher.gateway.source import parse

DOC = Path(__file__).resolve().parents[2] / "docs" / "CONNECT.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def examples(kind: str) -> list[str]:
    """The complete AI4I examples (they start with '# maps/<file>') of one gateway."""
    return [b for b in BLOCKS if b.startswith("# maps/") and "group:" not in b and kind in b]


@pytest.mark.parametrize("text", examples("{node:"))
def test_opcua_examples(text: str) -> None:
    mapping, _, _ = check_mapping(parse(text, DOC), OpcUaMapping)
    assert mapping.fields


@pytest.mark.parametrize("text", examples("{table:"))
def test_modbus_examples(text: str) -> None:
    mapping, _, _ = check_mapping(parse(text, DOC), ModbusMapping)
    assert mapping.fields


def test_the_sparkplug_example() -> None:
    (text,) = [b for b in BLOCKS if b.startswith("# maps/plant-1-sparkplug.yaml")]
    mapping, _, _ = check_sparkplug_mapping(parse(text, DOC))
    assert mapping.machines[0].machine == "mill-7"


def test_there_are_examples_for_every_gateway() -> None:
    assert len(examples("{node:")) >= 1
    assert len(examples("{table:")) >= 1
