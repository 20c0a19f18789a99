"""The overview with a fleet: the summary, search, filters and a grid that renders only what is on screen.

A fleet of its own: a broker, a worker and an API of this module's own (so its machines never
show up in the other browser tests' overview), fed by the fleet bench's load generator -- each
machine its own sensor account and MQTT session -- so every reading goes through the real stack.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from bench.fleet.loadgen import Loadgen, SensorAccount, StepPlan
from broker.local import LocalBroker
from tests.e2e.conftest import VIEWPORT, _needed
from tests.support.e2e_stack import E2eStack, built_dashboard, open_live, wait_for

pytestmark = pytest.mark.e2e

FLEET = 150  # above the overview's virtualization threshold (60), several screens of cards
Screenshot = Callable[[Page, str], Path]


def machine_ids() -> list[str]:
    return [f"fleet-e2e-{n:03d}" for n in range(FLEET)]


@pytest.fixture(scope="module")
def fleet_stack(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2eStack]:
    dist = _needed(built_dashboard)  # the package's rule: skip where no browser can run, fail in CI
    with LocalBroker.create() as broker:
        # machines send two readings at the start only: they must stay online for the whole module
        api_env = {"FOREWARN_OFFLINE_AFTER_S": "3600"}
        stack = E2eStack.start(broker, models_dir, tmp_path_factory.mktemp("fleet-stack"), dist, api_env)
        try:
            _publish_fleet(broker)
            wait_for(lambda: len(stack.get("/api/machines")["machines"]) == FLEET, 60, f"{FLEET} machines listed")
            yield stack
        finally:
            stack.destroy()


def _publish_fleet(broker: LocalBroker) -> None:
    """Every machine connects as itself and sends two readings (a second apart)."""
    passwords = broker.add_users(machine_ids(), "sensor")
    loadgen = Loadgen(broker.settings("unused", "unused"), broker.topics, "e2e")
    try:
        loadgen.connect([(SensorAccount(m, passwords[m]), n / FLEET, n) for n, m in enumerate(machine_ids())])
        assert loadgen.connected()["connected"] == FLEET
        start = float(int(time.time()) + 1)
        loadgen.start_step(StepPlan(start, start, start + 2, start + 2))
        sent = loadgen.step_result(timeout=90)
        assert sent["acked"] == 2 * FLEET, sent
    finally:
        loadgen.stop()


@pytest.fixture
def fleet_page(browser: Browser, fleet_stack: E2eStack) -> Iterator[Page]:
    context = browser.new_context(base_url=fleet_stack.base, viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def _rendered_cards(page: Page) -> list[str]:
    ids = page.locator('[data-testid^="machine-card-"]').evaluate_all(
        "cards => cards.map(card => card.dataset.testid.slice('machine-card-'.length))"
    )
    return list(ids)


def test_the_overview_of_a_fleet_sums_it_up_and_renders_only_the_cards_on_screen(
    fleet_page: Page, screenshot: Screenshot
) -> None:
    page = fleet_page
    open_live(page)
    expect(page.get_by_test_id("count-total")).to_have_attribute("data-count", str(FLEET))
    per_state = [
        int(page.get_by_test_id(f"count-{state}").get_attribute("data-count") or -1)
        for state in ("normal", "predictive", "failure", "offline")
    ]
    assert sum(per_state) == FLEET  # every machine has a reading: no "waiting" ones
    grid = page.get_by_test_id("machine-cards")
    expect(grid).to_have_attribute("data-total", str(FLEET))
    expect(grid).to_have_attribute("data-virtual", "true")
    first = _rendered_cards(page)
    assert first[0] == "fleet-e2e-000"
    assert 0 < len(first) < FLEET / 2, f"{len(first)} cards rendered for {FLEET} machines"
    assert "fleet-e2e-149" not in first
    screenshot(page, "overview-fleet")

    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    expect(page.get_by_test_id("machine-card-fleet-e2e-149")).to_be_visible()
    last = _rendered_cards(page)
    assert "fleet-e2e-000" not in last
    assert len(last) < FLEET / 2


def test_a_machine_is_found_by_search_and_the_filter_survives_a_visit(fleet_page: Page) -> None:
    page = fleet_page
    open_live(page)
    page.get_by_test_id("overview-search").fill("E2E-137")  # any case
    expect(page.get_by_test_id("overview-shown")).to_have_attribute("data-count", "1")
    expect(page.get_by_test_id("machine-card-fleet-e2e-137")).to_be_visible()
    assert _rendered_cards(page) == ["fleet-e2e-137"]
    assert re.search(r"#/\?q=E2E-137$", page.url)

    page.get_by_test_id("machine-card-fleet-e2e-137").click()
    expect(page.get_by_test_id("chart-probability")).to_be_visible()
    page.go_back()
    expect(page.get_by_test_id("overview-search")).to_have_value("E2E-137")
    assert _rendered_cards(page) == ["fleet-e2e-137"]

    page.get_by_test_id("overview-search").fill("fleet-e2e-14")
    expect(page.get_by_test_id("overview-shown")).to_have_attribute("data-count", "10")  # 140..149
    page.get_by_test_id("overview-clear").click()
    expect(page.get_by_test_id("overview-shown")).to_have_attribute("data-count", str(FLEET))


def test_the_status_filter_and_the_counts_narrow_the_grid(fleet_page: Page) -> None:
    page = fleet_page
    open_live(page)
    # The counts arrive with the first snapshot: wait for them rather than read a page still loading.
    expect(page.get_by_test_id("count-normal")).to_have_attribute("data-count", re.compile(r"^[1-9][0-9]*$"))
    normal = int(page.get_by_test_id("count-normal").get_attribute("data-count") or 0)
    assert normal > 0
    page.get_by_test_id("overview-status").select_option("normal")
    expect(page.get_by_test_id("overview-shown")).to_have_attribute("data-count", str(normal))
    statuses = page.locator('[data-testid^="machine-card-"]').evaluate_all("cards => cards.map(c => c.dataset.status)")
    assert statuses
    assert set(statuses) == {"normal"}

    page.get_by_test_id("count-normal").get_by_role("button").click()  # the same filter again: back to all
    expect(page.get_by_test_id("overview-shown")).to_have_attribute("data-count", str(FLEET))
    page.get_by_test_id("count-offline").get_by_role("button").click()
    expect(page.get_by_test_id("overview-no-match")).to_be_visible()  # every machine is online
