"""Verdicts in the alert list and the machine view, the maintenance form, and the alert-quality
view: Chromium on the real stack (a sensor's failure reading opens the alert)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.e2e_stack import TOKEN, E2eStack, Sensor, new_machine_id, open_live, wait_for

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]


def test_verdicts_maintenance_and_alert_quality_from_the_dashboard(
    page: Page, e2e_stack: E2eStack, sensors: Callable[[str], Sensor], screenshot: Screenshot
) -> None:
    machine = new_machine_id("verdict")
    sensors(machine).publish(failure=1, failure_description="Power Failure", torque_nm=65.7)
    alerts = wait_for(
        lambda: e2e_stack.get(f"/api/alerts?state=open&machine={machine}")["alerts"],
        what=f"an open alert of {machine}",
    )
    alert_id = alerts[0]["alert_id"]

    open_live(page, "/#/alerts")
    row = page.locator(f'[data-testid="alert-row"][data-alert-id="{alert_id}"]')
    expect(row).to_have_attribute("data-verdict", "")
    row.get_by_test_id("verdict-select").select_option("false_alarm")
    dialog = page.get_by_test_id("token-dialog")  # the first write of the tab asks for the token
    dialog.get_by_test_id("token-input").fill(TOKEN)
    dialog.get_by_test_id("ack-name-input").fill("e2e-judge")
    dialog.get_by_test_id("token-submit").click()
    expect(row).to_have_attribute("data-verdict", "false_alarm")
    expect(row.get_by_test_id("verdict-info")).to_have_text("false alarm by e2e-judge")
    screenshot(page, "alert-verdict")

    page.goto(f"/#/machine/{machine}")  # the machine view: the same alert, the verdict it has
    machine_row = page.locator(f'[data-testid="alert-row"][data-alert-id="{alert_id}"]')
    expect(machine_row).to_have_attribute("data-verdict", "false_alarm")
    machine_row.get_by_test_id("verdict-select").select_option("real_failure")  # changed: no dialog now
    # a real failure takes the alert's predicted mode, whichever the model said
    expect(machine_row.get_by_test_id("verdict-info")).to_have_text(
        re.compile(r"^real failure( \(\w+\))? by e2e-judge$")
    )
    expect(page.get_by_test_id("token-dialog")).to_have_count(0)
    history = e2e_stack.get(f"/api/verdicts?history=true&alert_id={alert_id}")["verdicts"]
    assert [(v["verdict"], v["by"]) for v in history] == [("real_failure", "e2e-judge"), ("false_alarm", "e2e-judge")]

    page.get_by_test_id("maintenance-action").select_option("repaired")
    page.get_by_test_id("maintenance-note").fill("new power supply")
    page.get_by_test_id("maintenance-submit").click()
    expect(page.get_by_test_id("maintenance-entry")).to_contain_text("repaired by e2e-judge — new power supply")
    logged = e2e_stack.get(f"/api/maintenance?machine={machine}")["maintenance"]
    assert [(e["action"], e["note"], e["by"]) for e in logged] == [("repaired", "new power supply", "e2e-judge")]
    screenshot(page, "machine-maintenance")

    page.get_by_test_id("snooze-minutes").select_option("60")
    page.get_by_test_id("snooze-button").click()
    expect(page.get_by_test_id("snooze-entry")).to_contain_text("by e2e-judge")
    silenced = e2e_stack.get(f"/api/silences?machine={machine}")
    assert [s["type"] for s in silenced["silences"]] == ["snooze"]
    local = (
        "d => { const t = new Date(Date.now() + d); t.setMinutes(t.getMinutes() - t.getTimezoneOffset()); "
        "return t.toISOString().slice(0, 16); }"
    )
    page.get_by_test_id("window-start").fill(page.evaluate(local, -3_600_000))
    page.get_by_test_id("window-end").fill(page.evaluate(local, 3_600_000))
    page.get_by_test_id("window-submit").click()
    expect(page.get_by_test_id("window-entry")).to_have_count(1)
    page.get_by_test_id("snooze-end").click()
    expect(page.get_by_test_id("snooze-entry")).to_have_count(0)
    silenced = e2e_stack.get(f"/api/silences?machine={machine}")
    assert [s["type"] for s in silenced["silences"]] == ["maintenance_window"]  # the window goes on

    page.locator('nav a[href="#/quality"]').click()
    report = e2e_stack.get("/api/alerts/quality")
    expect(page.get_by_test_id("quality-alerts")).to_have_text(str(report["alerts"]))
    expect(page.get_by_test_id("quality-by-rule")).to_contain_text("detected")
    expect(page.get_by_test_id("quality-noisiest").locator("tbody tr")).to_have_count(len(report["noisiest_machines"]))
    assert report["with_verdict"] >= 1
    screenshot(page, "alert-quality")
