"""The built dashboard under the API's Content-Security-Policy, in Chromium.

The `page` fixture already fails any test whose page the policy blocks something in; here the
policy itself is checked: it is sent with the dashboard, the dashboard goes live under it
(script, style sheet, data: icon, fetches and the event stream all allowed), and it does stop
what it is there to stop (an injected inline script).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from api.security import CONTENT_SECURITY_POLICY
from tests.support.e2e_stack import E2eStack

pytestmark = pytest.mark.e2e


def test_the_dashboard_goes_live_under_its_policy_and_the_policy_blocks_an_inline_script(
    browser: Browser, e2e_stack: E2eStack
) -> None:
    context = browser.new_context(base_url=e2e_stack.base)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        response = page.goto("/#/")
        assert response is not None
        assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY
        expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")
        expect(page.get_by_test_id("count-total")).to_be_visible()
        allowed_everything = [text for text in console if "Content Security Policy" in text]
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.__inlineRan = true";
                document.head.append(script);
            }"""
        )
        page.wait_for_timeout(200)
        ran = page.evaluate("window.__inlineRan === true")
    finally:
        context.close()
    assert allowed_everything == []
    assert ran is False
    assert any("Content Security Policy" in text for text in console)
