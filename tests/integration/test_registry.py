"""The registry: bindings and operator profiles on disk, learned without a restart, bad files never fatal."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from contract.profiles import ProfileError
from contract.registry import (
    Registry,
    RegistryError,
    UnknownProfile,
    add_profile,
    bind_machine,
    parse_bindings,
    read_bindings,
    unbind_machine,
)

FAN = """id: fan-r
name: Test fan
fields:
  - {name: vibration_mm_s, label: vibration, kind: sensor, unit: mm/s, min: 0, max: 100}
failure_modes:
  - {code: BRG, name: Bearing Failure}
"""


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_binding_written_after_start_is_found_on_the_first_reading(tmp_path: Path) -> None:
    registry = Registry(tmp_path, check_interval_s=3600)
    with pytest.raises(UnknownProfile, match="bound to no profile"):
        registry.profile_of("press-7")
    bind_machine(tmp_path, "press-7", "ai4i-mill")
    assert registry.profile_of("press-7").id == "ai4i-mill"  # a miss re-reads at once


def test_a_rebinding_is_noticed_within_the_check_interval(tmp_path: Path) -> None:
    (tmp_path / "new.yaml").write_text(FAN)
    add_profile(tmp_path, tmp_path / "new.yaml")
    bind_machine(tmp_path, "m1", "ai4i-mill")
    clock = _Clock()
    registry = Registry(tmp_path, check_interval_s=1.0, clock=clock)
    assert registry.profile_of("m1").id == "ai4i-mill"
    bind_machine(tmp_path, "m1", "fan-r")
    clock.now = 0.5
    assert registry.profile_of("m1").id == "ai4i-mill"  # not checked yet
    clock.now = 1.5
    assert registry.profile_of("m1").id == "fan-r"
    assert unbind_machine(tmp_path, "m1")
    assert not unbind_machine(tmp_path, "m1")
    assert read_bindings(tmp_path) == {}


def test_binding_to_a_profile_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"--profile 'pump': no such profile \(known: ai4i-mill"):
        bind_machine(tmp_path, "m1", "pump")
    assert not (tmp_path / "machines.json").exists()


def test_a_hand_edited_binding_to_a_missing_profile_is_unknown_profile(tmp_path: Path) -> None:
    (tmp_path / "machines.json").write_text('{"machines": {"m1": "pump"}}')
    with pytest.raises(UnknownProfile, match="bound to profile 'pump', which does not exist"):
        Registry(tmp_path).profile_of("m1")


def test_a_bad_operator_profile_logs_one_line_and_the_last_good_version_stays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "fan.yaml"
    source.write_text(FAN)
    add_profile(tmp_path, source)
    bind_machine(tmp_path, "fan-1", "fan-r")
    clock = _Clock()
    registry = Registry(tmp_path, check_interval_s=1.0, clock=clock)
    assert registry.profile_of("fan-1").numeric_names == ("vibration_mm_s",)
    installed = tmp_path / "profiles" / "fan-r.yaml"
    installed.write_text(FAN.replace("max: 100", "max: -1"))
    os.utime(installed, ns=(1, 1))
    clock.now = 2.0
    with caplog.at_level(logging.ERROR):
        assert registry.profile_of("fan-1").field("vibration_mm_s").max == 100  # type: ignore[union-attr]
        clock.now = 4.0
        registry.profile_of("fan-1")
    problems = [r.getMessage() for r in caplog.records]
    assert len(problems) == 1
    assert "fan-r.yaml:4: fields[0].min: min (0) > max (-1)" in problems[0]
    assert "keeping its last good version" in problems[0]


def test_a_garbled_bindings_file_keeps_the_last_good_bindings(tmp_path: Path) -> None:
    bind_machine(tmp_path, "m1", "ai4i-mill")
    registry = Registry(tmp_path, check_interval_s=0)
    assert registry.binding("m1") == "ai4i-mill"
    (tmp_path / "machines.json").write_text("{not json")
    assert registry.profile_of("m1").id == "ai4i-mill"


def test_add_profile_validates_and_refuses_a_built_in_id(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FAN.replace("kind: sensor", "kind: sensr"))
    with pytest.raises(ProfileError, match=r"bad.yaml:4: fields\[0\]: kind must be one of"):
        add_profile(tmp_path, bad)
    clash = tmp_path / "clash.yaml"
    clash.write_text(FAN.replace("id: fan-r", "id: ai4i-mill"))
    with pytest.raises(ProfileError, match="built-in profile"):
        add_profile(tmp_path, clash)
    assert not (tmp_path / "profiles").exists()


def test_bindings_parse_names_what_is_wrong() -> None:
    assert parse_bindings('{"machines": {"a": "ai4i-mill"}}', "f") == {"a": "ai4i-mill"}
    assert parse_bindings("", "f") == {}
    for text, message in [
        ("[]", "expected"),
        ('{"machines": {"a/b": "x"}}', "machines.a/b: not a machine id"),
        ('{"machines": {"a": "X Y"}}', "machines.a: 'X Y' is not a profile id"),
    ]:
        with pytest.raises(RegistryError, match=message):
            parse_bindings(text, "f")
