"""Machines of two profiles side by side in Chromium: the test-only fan and the AI4I mill.

The fan's profile (tests/support/profiles/test-fan.yaml: vibration RMS and bearing
temperature, one failure mode) is added to the running API's registry folder, which the API
re-reads without a restart. Predictions are published over MQTT/TLS as a worker user would
(the fan's unscored: its profile has no model), the real API stores them and streams them to
the dashboard, which must draw the fan's two charts with their units and the mill's own,
without any field name in its code.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from playwright.sync_api import Page, expect

from common.mqtt import connect_client, create_client, wait_connected
from tests.support.api import prediction
from tests.support.e2e_stack import E2eStack, new_machine_id, open_live, seconds_ago, wait_for
from tests.support.mqtt import publish_and_wait

pytestmark = pytest.mark.e2e

FAN_PROFILE = Path(__file__).resolve().parents[1] / "support" / "profiles" / "test-fan.yaml"
Screenshot = Callable[[Page, str], Path]


class WorkerVoice:
    """Publishes predictions as the inference worker does (worker role, QoS 1)."""

    def __init__(self, stack: E2eStack) -> None:
        name = f"e2e-voice-{uuid.uuid4().hex[:6]}"
        settings = stack.broker.settings(name, stack.broker.add_user(name, "worker"))
        self.topics = stack.broker.topics
        self.client: mqtt.Client = create_client(settings, status_topic=None)
        connect_client(self.client, settings)
        assert wait_connected(self.client)

    def publish(self, payload: dict[str, Any]) -> None:
        topic = self.topics.predictions(payload["machine_id"])
        assert publish_and_wait(self.client, topic, json.dumps(payload).encode()) == 0

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def voice(e2e_stack: E2eStack) -> Iterator[WorkerVoice]:
    made = WorkerVoice(e2e_stack)
    yield made
    made.close()


@pytest.fixture
def fan_profile(e2e_stack: E2eStack) -> str:
    """The fan's profile, added to the running API's registry (it notices within a second)."""
    folder = e2e_stack.root / "registry" / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(FAN_PROFILE, folder / "test-fan.yaml")
    wait_for(lambda: e2e_stack.get("/api/profiles/test-fan").get("id"), what="the API knowing the fan profile")
    return "test-fan"


def fan_reading(machine_id: str, n: int, vibration: float, temp: float, ago: float) -> dict[str, Any]:
    return prediction(
        machine_id,
        f"{machine_id}-{n}",
        seconds_ago(ago),
        profile="test-fan",
        status="unscored",
        failure_probability=None,
        model_version=None,
        threshold=None,
    ) | {"values": {"vibration_rms": vibration, "bearing_temp_c": temp}}


def test_a_fan_and_a_mill_side_by_side_each_with_its_own_fields_and_units(
    page: Page, e2e_stack: E2eStack, voice: WorkerVoice, fan_profile: str, screenshot: Screenshot
) -> None:
    fan, mill = new_machine_id("fan"), new_machine_id("mill")
    open_live(page)
    for n in range(6):
        voice.publish(fan_reading(fan, n, 2.0 + n / 2, 60.0 + n, ago=60 - 10 * n))
    voice.publish(prediction(mill, f"{mill}-1", seconds_ago(5), values={"torque_nm": 44.5}))

    fan_card = page.get_by_test_id(f"machine-card-{fan}")
    mill_card = page.get_by_test_id(f"machine-card-{mill}")
    expect(fan_card).to_have_attribute("data-profile", fan_profile)
    expect(mill_card).to_have_attribute("data-profile", "ai4i-mill")
    expect(fan_card).to_have_attribute("data-status", "unscored")
    expect(fan_card.get_by_test_id("card-value-vibration_rms")).to_contain_text("4.50")
    expect(fan_card.get_by_test_id("card-value-vibration_rms")).to_contain_text("mm/s")
    expect(fan_card.get_by_test_id("card-value-bearing_temp_c")).to_contain_text("65.0")
    expect(fan_card.get_by_test_id("card-value-bearing_temp_c")).to_contain_text("°C")
    expect(fan_card.locator("[data-testid^=card-value-]")).to_have_count(2)
    expect(mill_card.get_by_test_id("card-value-torque_nm")).to_contain_text("44.5")
    screenshot(page, "profiles-overview")

    fan_card.click()
    expect(page).to_have_url(re.compile(f"#/machine/{fan}$"))
    expect(page.get_by_test_id("machine-profile")).to_have_text("Test fan")
    vibration = page.get_by_test_id("chart-vibration_rms")
    temperature = page.get_by_test_id("chart-bearing_temp_c")
    expect(vibration).to_contain_text("vibration RMS (mm/s)")
    expect(vibration).to_have_attribute("aria-label", re.compile(r"latest 4\.50 mm/s$"))
    expect(temperature).to_contain_text("bearing temperature (°C)")
    expect(temperature).to_have_attribute("aria-label", re.compile(r"latest 65\.0 °C$"))
    expect(page.locator("figure.chart")).to_have_count(3)  # failure probability and the fan's two
    expect(page.get_by_test_id("chart-torque_nm")).to_have_count(0)
    screenshot(page, "profiles-fan")

    page.goto(f"/#/machine/{mill}")
    expect(page.get_by_test_id("chart-torque_nm")).to_have_attribute("aria-label", re.compile(r"latest 44\.5 Nm$"))
    expect(page.get_by_test_id("chart-vibration_rms")).to_have_count(0)


def test_the_log_shows_a_profiles_columns_and_the_reading_its_fields(
    page: Page, e2e_stack: E2eStack, voice: WorkerVoice, fan_profile: str
) -> None:
    fan = new_machine_id("fan")
    voice.publish(fan_reading(fan, 1, 7.25, 88.4, ago=2))
    wait_for(lambda: e2e_stack.get(f"/api/log?machine={fan}")["items"], what="the fan's reading stored")
    open_live(page, "/#/log")
    page.get_by_test_id("filter-machine").select_option(fan)
    expect(page.get_by_test_id("log-column-vibration_rms")).to_have_text("vibration RMS (mm/s)")
    expect(page.get_by_test_id("log-column-bearing_temp_c")).to_have_text("bearing temperature (°C)")
    row = page.get_by_test_id("log-row")
    expect(row).to_have_count(1)
    expect(row.locator("[data-field=vibration_rms]")).to_have_text("7.25")
    row.click()
    modal = page.get_by_test_id("reading-modal")
    expect(modal.get_by_test_id("reading-value-bearing_temp_c")).to_have_text("88.4")
    expect(modal).to_contain_text("bearing temperature (°C)")
    expect(modal).to_contain_text("Test fan")
    href = page.get_by_test_id("log-export").get_attribute("href") or ""
    assert f"machine={fan}" in href
    exported = page.request.get(href).text()
    header = exported.splitlines()[0].split(",")
    assert header[header.index("threshold") + 1 : header.index("failure")] == ["vibration_rms", "bearing_temp_c"]
