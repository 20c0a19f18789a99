"""Fixtures of the browser tests: the real stack, Debian's Chromium and screenshots.

One stack for this package (the session's test broker, a `python -m inference_worker`, a
`python -m api` serving dashboard/dist) and one browser; each test gets a fresh browser
context, so its token and page state are its own. Screenshots land in artifacts/screenshots/ at the
repository root; a failing test also leaves `failed-<test>.png` there and prints the tails
of the worker's and the API's logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from broker.local import LocalBroker
from tests.support.e2e_stack import CHROMIUM_ARGS, E2eStack, Sensor, Unavailable, built_dashboard, chromium, must_run
from tests.support.stack import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
TIMEOUT_MS = 15_000
VIEWPORT = {"width": 1400, "height": 900}

expect.set_options(timeout=TIMEOUT_MS)
_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember a failed test body, so the page fixture can keep its evidence."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


def _needed(make: Callable[[], Path]) -> Path:
    """What make() returns; a clear skip where it cannot run, a failure where the tests must run."""
    try:
        return make()
    except Unavailable as exc:
        if must_run():
            pytest.fail(f"browser tests cannot run: {exc}")
        pytest.skip(f"browser tests skipped: {exc}")


@pytest.fixture(scope="package")
def e2e_stack(broker: LocalBroker, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2eStack]:
    """Worker and API as real processes on the session's broker, serving the built dashboard.

    Package-scoped: stopped after the last browser test, so the worker does not go on scoring
    (and publishing for) the readings of the tests that use the broker later in the session.
    """
    dist = _needed(built_dashboard)
    stack = E2eStack.start(broker, models_dir, tmp_path_factory.mktemp("e2e-stack"), dist)
    yield stack
    stack.destroy()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = _needed(chromium)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, e2e_stack: E2eStack, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page of a fresh context on the dashboard; an uncaught script error or anything the
    Content-Security-Policy blocks (Chromium says so on the console) fails the test."""
    context = browser.new_context(base_url=e2e_stack.base, viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: _keep_csp_violation(errors, message.text))
    yield opened
    if request.node.stash.get(_FAILED, False):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        safe_name = re.sub(r"[^\w-]", "_", request.node.name)
        opened.screenshot(path=SCREENSHOTS / f"failed-{safe_name}.png", full_page=True)
        print(e2e_stack.logs())
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def _keep_csp_violation(errors: list[str], text: str) -> None:
    if "Content Security Policy" in text:
        errors.append(text)


@pytest.fixture
def sensors(e2e_stack: E2eStack) -> Iterator[Callable[[str], Sensor]]:
    """Make machines (sensor users) for this test; their sessions end with it."""
    made: list[Sensor] = []

    def make(machine_id: str, profile: str | None = None) -> Sensor:
        made.append(e2e_stack.sensor(machine_id, profile))
        return made[-1]

    yield make
    for sensor in made:
        sensor.close()


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Page, str], Path]:
    """Save the page as artifacts/screenshots/<name>.png and return the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return save
