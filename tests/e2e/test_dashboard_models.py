"""The Models view in Chromium: champion and challenger side by side, their comparison, promotion and rollback.

A stack of this module's own (worker and API as real processes on the session's broker) serves
a models folder with a champion and a challenger; a sensor's real readings are scored by both
(the challenger in shadow). The buttons ask for the token once and move the pointers; the
worker follows them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from broker.local import LocalBroker
from contract import default_profile
from model.artifact import current_version, write_pointer
from model.roles import read_role, role_pointer, set_challenger
from tests.e2e.conftest import TIMEOUT_MS, VIEWPORT, _needed
from tests.support.e2e_stack import TOKEN, E2eStack, built_dashboard, new_machine_id, wait_for
from training.config import DEFAULT_DATA
from training.modelling import Hyperparameters
from training.train import train

pytestmark = pytest.mark.e2e

PROFILE = "ai4i-mill"


@pytest.fixture(scope="module")
def models_stack(
    broker: LocalBroker, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[E2eStack, Path, str, str]]:
    dist = _needed(built_dashboard)
    models = tmp_path_factory.mktemp("models-view") / "models"
    shutil.copytree(models_dir, models)
    champion = current_version(models)
    assert champion is not None
    small = Hyperparameters(n_estimators=10, cv_folds=2)
    challenger = train(list(DEFAULT_DATA), models, seed=5, params=small, profile=default_profile()).version
    write_pointer(models / role_pointer("current", PROFILE), champion)
    set_challenger(models, PROFILE, challenger)
    root = tmp_path_factory.mktemp("models-stack")
    stack = E2eStack.start(broker, models, root, dist, {"FOREWARN_MODELS_DIR": str(models)})
    try:
        yield stack, models, champion, challenger
    finally:
        stack.destroy()


@pytest.fixture
def models_page(browser: Browser, models_stack: tuple[E2eStack, Path, str, str]) -> Iterator[Page]:
    context = browser.new_context(base_url=models_stack[0].base, viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def test_the_models_view_compares_then_promotes_and_rolls_back_with_the_token(
    models_page: Page, models_stack: tuple[E2eStack, Path, str, str]
) -> None:
    stack, models, champion, challenger = models_stack
    sensor = stack.sensor(new_machine_id("models"))
    try:
        for n in range(8):
            sensor.publish(torque_nm=30.0 + 5 * n)
        comparison = f"/api/models/{PROFILE}/comparison"
        wait_for(
            lambda: (stack.get(comparison)["comparison"] or {}).get("readings", 0) >= 8, 30, "8 readings in shadow"
        )
    finally:
        sensor.close()
    page = models_page
    page.goto("/#/models")
    section = page.get_by_test_id(f"models-{PROFILE}")
    expect(section.get_by_test_id("model-champion-version")).to_have_text(champion)
    expect(section.get_by_test_id("model-challenger-version")).to_have_text(challenger)
    expect(section.get_by_test_id("model-previous-version")).to_have_text("none")
    expect(section.get_by_test_id("comparison-summary")).to_contain_text("readings scored by both")
    expect(section.get_by_test_id("comparison-table")).to_contain_text("Alerts per machine-day")

    section.get_by_test_id("promote").click()
    dialog = page.get_by_test_id("token-dialog")
    expect(dialog).to_contain_text("Promoting or rolling back needs its token")
    dialog.get_by_test_id("token-input").fill(TOKEN)
    dialog.get_by_test_id("token-submit").click()
    expect(page.get_by_test_id("model-move-result")).to_contain_text(f"promoted; the champion is now {challenger}")
    expect(section.get_by_test_id("model-champion-version")).to_have_text(challenger)
    expect(section.get_by_test_id("model-previous-version")).to_have_text(champion)
    expect(section.get_by_test_id("model-challenger-version")).to_have_text("none")
    assert current_version(models) == challenger

    section.get_by_test_id("rollback").click()  # the token is kept in this tab: no dialog this time
    expect(page.get_by_test_id("model-move-result")).to_contain_text(f"rolled back; the champion is now {champion}")
    expect(section.get_by_test_id("model-champion-version")).to_have_text(champion)
    assert current_version(models) == champion
    assert read_role(models, "previous", PROFILE) == challenger
