"""The log of scored readings: its filters and the reading modal, on readings sent by real sensors."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from contract.profiles import default_profile
from tests.support.e2e_stack import E2eStack, new_machine_id, percent, seconds_ago, wait_for

pytestmark = pytest.mark.e2e
MILL = default_profile()  # the plant's machines are AI4I mills

Screenshot = Callable[[Page, str], Path]


@dataclass(frozen=True)
class Plant:
    """Two machines' readings, scored and stored: `mill` ends with a failure, `drill` is healthy."""

    mill: str
    drill: str
    mill_healthy: list[dict[str, Any]]
    mill_failure: dict[str, Any]
    drill_readings: list[dict[str, Any]]


@pytest.fixture(scope="module")
def plant(e2e_stack: E2eStack) -> Iterator[Plant]:
    mill_id, drill_id = new_machine_id("mill"), new_machine_id("drill")
    mill, drill = e2e_stack.sensor(mill_id), e2e_stack.sensor(drill_id)
    try:
        made = Plant(
            mill=mill_id,
            drill=drill_id,
            # distinct times (seconds apart), so "newest first" is one order
            mill_healthy=[
                mill.publish(ts=seconds_ago(40 - 5 * i), air_temp_k=300.1 + i, tool_wear_min=10 + i) for i in range(3)
            ],
            mill_failure=mill.publish(
                ts=seconds_ago(20),
                failure=1,
                failure_description="Heat Dissipation Failure",
                air_temp_k=302.4,
                process_temp_k=311.2,
                rotational_speed_rpm=1284,
                torque_nm=47.5,
                tool_wear_min=118,
            ),
            drill_readings=[drill.publish(ts=seconds_ago(10 - 5 * i), torque_nm=30.5 + i) for i in range(2)],
        )
        for machine_id, count in ((mill_id, 4), (drill_id, 2)):
            wait_for(partial(_stored, e2e_stack, machine_id, count), what=f"{count} readings of {machine_id} stored")
        yield made
    finally:
        mill.close()
        drill.close()


def _stored(stack: E2eStack, machine_id: str, count: int) -> bool:
    return len(stack.get(f"/api/log?machine={machine_id}")["items"]) == count


def _rows(page: Page) -> Locator:
    return page.get_by_test_id("log-row")


def _row(page: Page, reading_id: str) -> Locator:
    return page.locator(f'[data-testid="log-row"][data-reading-id="{reading_id}"]')


def _open_log(page: Page, plant: Plant) -> None:
    page.goto("/#/log")
    expect(_row(page, plant.mill_failure["reading_id"])).to_be_visible()
    # the machine filter lists the machines the page knows live: wait for ours
    expect(page.get_by_test_id("filter-machine").locator(f'option[value="{plant.drill}"]')).to_have_count(1)


def test_the_log_filters_by_status_and_by_machine(page: Page, plant: Plant, screenshot: Screenshot) -> None:
    _open_log(page, plant)
    healthy_ids = [r["reading_id"] for r in plant.mill_healthy + plant.drill_readings]
    expect(_row(page, healthy_ids[0])).to_be_visible()

    page.get_by_test_id("filter-status").select_option("failure")
    for reading_id in healthy_ids:
        expect(_row(page, reading_id)).to_have_count(0)
    expect(_row(page, plant.mill_failure["reading_id"])).to_be_visible()  # the filtered page has loaded
    expect(page.locator('[data-testid="log-row"]:not([data-status="failure"])')).to_have_count(0)

    page.get_by_test_id("filter-clear").click()
    page.get_by_test_id("filter-machine").select_option(plant.drill)
    expect(_rows(page)).to_have_count(len(plant.drill_readings))
    expect(page.locator(f'[data-testid="log-row"]:not([data-machine="{plant.drill}"])')).to_have_count(0)
    newest_first = [r["reading_id"] for r in reversed(plant.drill_readings)]
    assert [row.get_attribute("data-reading-id") for row in _rows(page).all()] == newest_first

    page.get_by_test_id("filter-machine").select_option(plant.mill)
    expect(_rows(page)).to_have_count(4)
    screenshot(page, "log")
    page.get_by_test_id("filter-status").select_option("failure")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_have_attribute("data-reading-id", plant.mill_failure["reading_id"])


def _field(modal: Locator, label: str) -> Locator:
    """The value shown next to `label` in the modal's description lists."""
    term = modal.page.locator("dt", has_text=re.compile(f"^{re.escape(label)}$"))
    return modal.locator(".field", has=term).locator("dd")


def test_clicking_a_row_opens_a_modal_with_the_reading_and_its_prediction(
    page: Page, e2e_stack: E2eStack, plant: Plant, screenshot: Screenshot
) -> None:
    sent = plant.mill_failure
    stored = e2e_stack.get(f"/api/readings/{plant.mill}/{sent['reading_id']}")
    _open_log(page, plant)

    _row(page, sent["reading_id"]).click()

    modal = page.get_by_test_id("reading-modal")
    expect(modal).to_be_visible()
    expect(_field(modal, "Reading id")).to_have_text(sent["reading_id"])
    expect(_field(modal, "Machine")).to_have_text(plant.mill)
    # labels, units and decimals are the machine's profile's (profiles/ai4i-mill.yaml)
    expect(_field(modal, "air temperature (K)")).to_have_text("302.4")
    expect(_field(modal, "process temperature (K)")).to_have_text("311.2")
    expect(_field(modal, "rotational speed (rpm)")).to_have_text("1284")
    expect(_field(modal, "torque (Nm)")).to_have_text("47.5")
    expect(_field(modal, "tool wear (min)")).to_have_text("118")
    expect(_field(modal, "Profile")).to_have_text(MILL.name)
    expect(_field(modal, "Reported failure")).to_have_text("yes — Heat Dissipation Failure")
    expect(_field(modal, "Failure probability")).to_have_text(percent(stored["failure_probability"]))
    expect(_field(modal, "Threshold")).to_have_text(percent(stored["threshold"]))
    mode = stored["predicted_mode"]
    names = {m.code: m.name for m in MILL.failure_modes}
    expect(_field(modal, "Predicted mode")).to_have_text(f"{names.get(mode, mode)} ({mode})" if mode else "—")
    expect(_field(modal, "Model version")).to_have_text(stored["model_version"])
    expect(modal.get_by_test_id("explanation" if stored["explanation"] else "no-explanation")).to_be_visible()
    screenshot(page, "modal")

    page.keyboard.press("Escape")
    expect(modal).to_have_count(0)
    healthy = plant.mill_healthy[-1]["reading_id"]
    _row(page, healthy).focus()  # the log is usable from the keyboard
    page.keyboard.press("Enter")
    expect(_field(modal, "Reading id")).to_have_text(healthy)
