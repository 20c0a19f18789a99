"""compose.yaml: every URL a service or health check uses to reach the API names a host the API
answers to (it refuses any other Host with 400, against DNS rebinding). The local compose
stack (tests/support/compose_local.py) rewrites `http://api:` to 127.0.0.1, so only this test
sees the names as Docker would."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api.config import load
from tests.support.compose import Service, load_compose

DOC = load_compose({"FOREWARN_API_TOKEN": "compose-test-token-0123456789"})


def _api_urls() -> list[tuple[str, str]]:
    """(service, URL) of every http:// URL in a service's environment or health check."""
    found = []
    for name in DOC["services"]:
        service = Service.of(DOC, name)
        test = service.spec.get("healthcheck", {}).get("test", [])
        words = [*service.environment.values(), *(test if isinstance(test, list) else [test])]
        found += [(name, word) for word in words if word.startswith("http://")]
    return found


def test_the_bot_and_the_health_check_reach_the_api() -> None:
    assert {name for name, _url in _api_urls()} >= {"api", "telegram-bot"}


@pytest.mark.parametrize(("service", "url"), _api_urls())
def test_every_url_of_the_api_names_a_host_it_answers_to(
    service: str, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FOREWARN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("FOREWARN_MQTT_PASSWORD", "unused")
    monkeypatch.setenv("FOREWARN_API_ALLOWED_HOSTS", Service.of(DOC, "api").environment["FOREWARN_API_ALLOWED_HOSTS"])
    host = urlsplit(url).hostname
    assert host in load().allowed_hosts, f"{service} calls {url}, whose host the API refuses"
