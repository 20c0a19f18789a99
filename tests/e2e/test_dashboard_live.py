"""The overview, the machine view and the alerts, live from real sensors through the whole stack.

Readings go over MQTT/TLS as each machine's own sensor user; the real worker scores them,
the real API stores them and streams them to Chromium. Nothing is fed to the API directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support.e2e_stack import TOKEN, E2eStack, Sensor, new_machine_id, open_live, seconds_ago, wait_for

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]


def _card(page: Page, machine_id: str) -> Locator:
    return page.get_by_test_id(f"machine-card-{machine_id}")


def test_a_new_machine_that_publishes_appears_live_without_a_reload(
    page: Page, e2e_stack: E2eStack, sensors: Callable[[str], Sensor], screenshot: Screenshot
) -> None:
    open_live(page)
    known = len(e2e_stack.get("/api/machines")["machines"])
    expect(page.get_by_test_id("count-total")).to_have_attribute("data-count", str(known))  # snapshot shown
    machine = new_machine_id("fresh")
    expect(_card(page, machine)).to_have_count(0)
    page.evaluate("window.__e2eSamePage = true")  # a reload would lose it
    applied = page.evaluate("window.__forewarn.stats().applied")

    sensors(machine).publish(torque_nm=41.5, rotational_speed_rpm=1523, tool_wear_min=12)

    card = _card(page, machine)
    expect(card).to_be_visible()
    expect(card).to_have_attribute("data-status", "normal")
    expect(card).to_have_attribute("data-online", "true")
    expect(card.get_by_test_id("card-probability")).to_have_text(re.compile(r"^\d{1,3}%$"))
    expect(card).to_contain_text("41.5")
    expect(card).to_contain_text("1523")
    expect(page.get_by_test_id("count-total")).to_have_attribute("data-count", str(known + 1))
    assert page.evaluate("window.__e2eSamePage") is True
    assert page.evaluate("window.__forewarn.stats().applied") > applied
    screenshot(page, "overview")


def test_a_failure_reading_turns_the_card_red_and_its_alert_is_acknowledged_once_per_session(
    page: Page, e2e_stack: E2eStack, sensors: Callable[[str], Sensor], screenshot: Screenshot
) -> None:
    open_live(page)
    press_id, lathe_id = new_machine_id("press"), new_machine_id("lathe")
    press, lathe = sensors(press_id), sensors(lathe_id)
    for step in range(8):  # the last two minutes' history, for the machine view's charts
        press.publish(ts=seconds_ago(120 - 15 * step), tool_wear_min=20 + 5 * step, torque_nm=38.0 + step)
    card = _card(page, press_id)
    expect(card).to_have_attribute("data-status", "normal")
    expect(card.get_by_test_id("card-open-alerts")).to_have_count(0)

    press.publish(failure=1, failure_description="Power Failure", torque_nm=65.7, rotational_speed_rpm=1410)

    expect(card).to_have_attribute("data-status", "failure")
    expect(card).to_have_class(re.compile(r"\bcard-failure\b"))
    expect(card.get_by_test_id("card-open-alerts")).to_have_text("1 open alert")
    expect(page.get_by_test_id("count-failure")).not_to_have_attribute("data-count", "0")

    card.click()
    expect(page).to_have_url(re.compile(f"#/machine/{press_id}$"))
    expect(page.get_by_test_id("chart-probability")).to_be_visible()
    expect(page.get_by_test_id("chart-torque_nm")).to_have_attribute("aria-label", re.compile(r"latest 65\.7 Nm$"))
    machine_alerts = page.get_by_test_id("alert-row")
    expect(machine_alerts).to_have_count(1)
    expect(machine_alerts).to_have_attribute("data-state", "open")
    screenshot(page, "machine")

    lathe.publish(failure=1, failure_description="Tool Wear Failure")
    press_alert = _open_alert_id(e2e_stack, press_id)
    lathe_alert = _open_alert_id(e2e_stack, lathe_id)
    page.locator('nav a[href="#/alerts"]').click()
    press_row = page.locator(f'[data-testid="alert-row"][data-alert-id="{press_alert}"]')
    lathe_row = page.locator(f'[data-testid="alert-row"][data-alert-id="{lathe_alert}"]')
    expect(press_row).to_have_attribute("data-acked", "false")
    expect(lathe_row).to_have_attribute("data-state", "open")

    _acknowledge_through_the_token_dialog(page, press_row)
    expect(press_row.get_by_test_id("ack-info")).to_contain_text("acknowledged by e2e-tester")
    acked = [a for a in e2e_stack.get(f"/api/alerts?machine={press_id}")["alerts"] if a["alert_id"] == press_alert]
    assert [(a["acked_by"], a["acked_at"] is not None) for a in acked] == [("e2e-tester", True)]
    screenshot(page, "alerts")

    lathe_row.get_by_test_id("ack-button").click()  # the token is kept: no dialog this time
    expect(lathe_row).to_have_attribute("data-acked", "true")
    expect(page.get_by_test_id("token-dialog")).to_have_count(0)
    assert _acked_by(e2e_stack, lathe_id, lathe_alert) == "e2e-tester"


def _open_alert_id(stack: E2eStack, machine_id: str) -> str:
    alerts = wait_for(
        lambda: stack.get(f"/api/alerts?state=open&machine={machine_id}")["alerts"],
        what=f"an open alert of {machine_id} in the API",
    )
    assert [a["kind"] for a in alerts] == ["detected"]
    return str(alerts[0]["alert_id"])


def _acked_by(stack: E2eStack, machine_id: str, alert_id: str) -> str | None:
    alerts = stack.get(f"/api/alerts?machine={machine_id}")["alerts"]
    by: str | None = next(a["acked_by"] for a in alerts if a["alert_id"] == alert_id)
    return by


def _acknowledge_through_the_token_dialog(page: Page, row: Locator) -> None:
    """A wrong token is refused and asked again; the right one acknowledges."""
    row.get_by_test_id("ack-button").click()
    dialog = page.get_by_test_id("token-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("token-input").fill("not-the-token-0123456789")
    dialog.get_by_test_id("ack-name-input").fill("e2e-tester")
    dialog.get_by_test_id("token-submit").click()
    expect(dialog.get_by_role("alert")).to_contain_text("refused this token")
    expect(row).to_have_attribute("data-acked", "false")
    dialog.get_by_test_id("token-input").fill(TOKEN)
    dialog.get_by_test_id("token-submit").click()
    expect(dialog).to_have_count(0)
    expect(row).to_have_attribute("data-acked", "true")
