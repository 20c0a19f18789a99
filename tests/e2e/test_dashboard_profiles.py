"""Machines of two profiles side by side in Chromium: the test-only fan and the AI4I mill.

The fan's profile (tests/profiles/fan.yaml: vibration and bearing temperature, one failure
mode) is added to the registry as `python -m broker add-profile` does, and a fan sensor is
added bound to it while the stack runs. Both machines publish real readings over MQTT/TLS as
their own sensor users; the real worker scores the mill with its model and keeps the fan's
readings `unscored` (no fan model in this stack: tests/integration/test_fan_profile.py trains
one); the real API stores and streams them. The dashboard must draw the fan's two charts with
their units next to the mill's own, without a field name in its code.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from contract.registry import add_profile
from tests.support.e2e_stack import E2eStack, Sensor, new_machine_id, open_live, seconds_ago, wait_for

pytestmark = pytest.mark.e2e

FAN_PROFILE = Path(__file__).resolve().parents[1] / "profiles" / "fan.yaml"
Screenshot = Callable[[Page, str], Path]
Sensors = Callable[..., Sensor]


@pytest.fixture
def fan_profile(e2e_stack: E2eStack) -> str:
    """The fan's profile in the registry the worker and the API read (they notice within a second)."""
    profile = add_profile(e2e_stack.broker.registry_dir, FAN_PROFILE)
    wait_for(lambda: e2e_stack.get(f"/api/profiles/{profile.id}").get("id"), what="the API knowing the fan profile")
    return profile.id


def fan_reading(vibration: float, temp: float, ago: float) -> dict[str, Any]:
    """A fan's reading as its sensor sends it: the envelope and the profile's two fields."""
    return {
        "reading_id": f"fan-{uuid.uuid4().hex[:10]}",
        "ts": seconds_ago(ago),
        "vibration_mm_s": vibration,
        "bearing_temp_c": temp,
    }


def test_a_fan_and_a_mill_side_by_side_each_with_its_own_fields_and_units(
    page: Page, e2e_stack: E2eStack, sensors: Sensors, fan_profile: str, screenshot: Screenshot
) -> None:
    fan_id, mill_id = new_machine_id("fan"), new_machine_id("mill")
    open_live(page)
    fan = sensors(fan_id, fan_profile)
    for n in range(6):
        fan.send(fan_reading(2.0 + n / 2, 60.0 + n, ago=60 - 10 * n))
    sensors(mill_id).publish(torque_nm=44.5)

    fan_card = page.get_by_test_id(f"machine-card-{fan_id}")
    mill_card = page.get_by_test_id(f"machine-card-{mill_id}")
    expect(fan_card).to_have_attribute("data-profile", fan_profile)
    expect(mill_card).to_have_attribute("data-profile", "ai4i-mill")
    expect(fan_card).to_have_attribute("data-status", "unscored")
    expect(mill_card).to_have_attribute("data-status", re.compile("normal|predictive"))
    expect(fan_card.get_by_test_id("card-value-vibration_mm_s")).to_contain_text("4.50")
    expect(fan_card.get_by_test_id("card-value-vibration_mm_s")).to_contain_text("mm/s")
    expect(fan_card.get_by_test_id("card-value-bearing_temp_c")).to_contain_text("65.0")
    expect(fan_card.get_by_test_id("card-value-bearing_temp_c")).to_contain_text("°C")
    expect(fan_card.locator("[data-testid^=card-value-]")).to_have_count(2)
    expect(mill_card.get_by_test_id("card-value-torque_nm")).to_contain_text("44.5")
    screenshot(page, "profiles-overview")

    fan_card.click()
    expect(page).to_have_url(re.compile(f"#/machine/{fan_id}$"))
    expect(page.get_by_test_id("machine-profile")).to_have_text("Industrial fan")
    vibration = page.get_by_test_id("chart-vibration_mm_s")
    temperature = page.get_by_test_id("chart-bearing_temp_c")
    expect(vibration).to_contain_text("vibration (RMS) (mm/s)")
    expect(vibration).to_have_attribute("aria-label", re.compile(r"latest 4\.50 mm/s$"))
    expect(temperature).to_contain_text("bearing temperature (°C)")
    expect(temperature).to_have_attribute("aria-label", re.compile(r"latest 65\.0 °C$"))
    expect(page.locator("figure.chart")).to_have_count(3)  # failure probability and the fan's two
    expect(page.get_by_test_id("chart-torque_nm")).to_have_count(0)
    screenshot(page, "profiles-fan")

    page.goto(f"/#/machine/{mill_id}")
    expect(page.get_by_test_id("chart-torque_nm")).to_have_attribute("aria-label", re.compile(r"latest 44\.5 Nm$"))
    expect(page.get_by_test_id("chart-vibration_mm_s")).to_have_count(0)


def test_the_log_shows_a_profiles_columns_and_the_reading_its_fields(
    page: Page, e2e_stack: E2eStack, sensors: Sensors, fan_profile: str
) -> None:
    fan_id = new_machine_id("fan")
    sensors(fan_id, fan_profile).send(fan_reading(7.25, 88.4, ago=2))
    wait_for(lambda: e2e_stack.get(f"/api/log?machine={fan_id}")["items"], what="the fan's reading stored")
    open_live(page, "/#/log")
    page.get_by_test_id("filter-machine").select_option(fan_id)
    expect(page.get_by_test_id("log-column-vibration_mm_s")).to_have_text("vibration (RMS) (mm/s)")
    expect(page.get_by_test_id("log-column-bearing_temp_c")).to_have_text("bearing temperature (°C)")
    row = page.get_by_test_id("log-row")
    expect(row).to_have_count(1)
    expect(row.locator("[data-field=vibration_mm_s]")).to_have_text("7.25")
    row.click()
    modal = page.get_by_test_id("reading-modal")
    expect(modal.get_by_test_id("reading-value-bearing_temp_c")).to_have_text("88.4")
    expect(modal).to_contain_text("bearing temperature (°C)")
    expect(modal).to_contain_text("Industrial fan")
    href = page.get_by_test_id("log-export").get_attribute("href") or ""
    assert f"machine={fan_id}" in href
    exported = page.request.get(href).text()
    header = exported.splitlines()[0].split(",")
    assert header[header.index("threshold") + 1 : header.index("failure")] == ["vibration_mm_s", "bearing_temp_c"]
