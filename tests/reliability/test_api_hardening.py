"""S13: the API over real HTTP (waitress as in production) against a hostile page and odd bodies.

DNS rebinding: a page of evil.example whose name is rebound to this machine reaches the API
with `Host: evil.example`: every route must refuse it (400) and hand out no data, while the
names the API is meant to answer to work. Every response carries a Content-Security-Policy;
no dotfile of the dashboard's folder is served; a write body nested 15,000 levels deep is a
400, not a 500 with a traceback.
"""

from __future__ import annotations

import http.client
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from api import create_app, runtime_of
from api.security import CONTENT_SECURITY_POLICY
from tests.reliability.harness import report
from tests.support.api import TOKEN, Served, alert, feed, prediction, test_config

ALLOWED_NAME = "forewarn.example.com"
HOSTILE_HOSTS = ["evil.example", "evil.example:{port}", "localhost.evil.example", "127.0.0.1.nip.io", "[::2]", ""]
DOTFILES = [".source-hash", ".env", "assets/.hidden.js", ".git/config"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Flask, Served]]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>dashboard</title>")
    (dist / "assets" / "app.js").write_text("console.log('dashboard')")
    for name in DOTFILES:
        (dist / name).parent.mkdir(parents=True, exist_ok=True)
        (dist / name).write_text("secret-ish")
    config = test_config(
        f"sqlite:///{tmp_path / 'api.db'}",
        dashboard_dir=dist,
        allowed_hosts=("localhost", "127.0.0.1", "::1", ALLOWED_NAME),
    )
    app = create_app(config)
    feed(app, predictions=[prediction("m1", "r1")], alerts=[alert("m1", "a1")])
    server = Served(app)
    yield app, server
    runtime_of(app).stop()
    server.close()


def _request(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    content = b"" if response.getheader("Content-Type", "").startswith("text/event-stream") else response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, content


def _paths(app: Flask) -> list[str]:
    """A GET path for every route, arguments filled in, and the dashboard."""
    found = {"/", "/assets/app.js"}
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or set()):
            found.add(re.sub(r"<[^>]+>", "m1", rule.rule))
    return sorted(found)


def test_s13_a_rebound_host_name_gets_400_on_every_route_and_the_real_names_work(
    served: tuple[Flask, Served],
) -> None:
    app, server = served
    answers: Counter[int] = Counter()
    leaks = []
    for path in _paths(app):
        for host in HOSTILE_HOSTS:
            headers = {"Host": host.format(port=server.port)} if host else {}
            status, _headers, body = _request(server.port, "GET", path, headers)
            answers[status] += 1
            if status != 400 or b"m1" in body or b"dashboard" in body:
                leaks.append((path, host, status))
    allowed = {
        host: _request(server.port, "GET", "/api/machines", {"Host": host})[0]
        for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", f"[::1]:{server.port}", ALLOWED_NAME)
    }
    report("S13-host", requests=sum(answers.values()), answers=dict(answers), leaks=len(leaks), allowed=allowed)
    assert leaks == []
    assert set(allowed.values()) == {200}


def test_s13_every_answer_carries_the_content_security_policy(served: tuple[Flask, Served]) -> None:
    app, server = served
    missing = []
    for path in _paths(app):
        _status, headers, _body = _request(server.port, "GET", path, {"Host": "localhost"})
        if headers.get("content-security-policy") != CONTENT_SECURITY_POLICY:
            missing.append(path)
    refused = _request(server.port, "GET", "/", {"Host": "evil.example"})[1]
    assert missing == []
    assert refused.get("content-security-policy") == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_s13_no_dotfile_is_served(served: tuple[Flask, Served]) -> None:
    _app, server = served
    answers = {name: _request(server.port, "GET", f"/{name}", {"Host": "localhost"}) for name in DOTFILES}
    ordinary = _request(server.port, "GET", "/assets/app.js", {"Host": "localhost"})
    report("S13-dotfiles", answers={name: status for name, (status, _h, _b) in answers.items()})
    assert all(status == 404 and b"secret-ish" not in body for status, _h, body in answers.values())
    assert ordinary[0] == 200


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("15000 nested lists", b"[" * 15_000),  # the case, under the 16 KiB limit
        ("3000 nested objects", b'{"a":' * 3_000),
        ("deep list under by", b'{"by": ' + b"[" * 7_000 + b"]" * 7_000 + b"}"),
    ],
)
def test_s13_a_deeply_nested_write_body_is_a_400_and_the_api_goes_on(
    served: tuple[Flask, Served], name: str, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    _app, server = served
    headers = {"Host": "localhost", "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    status, _headers, answer = _request(server.port, "POST", "/api/alerts/a1/ack", headers, body)
    after = _request(server.port, "POST", "/api/alerts/a1/ack", headers, b'{"by": "ann"}')
    report(f"S13-nested-{name.replace(' ', '-')}", status=status, answer=json.loads(answer), then=after[0])
    assert status == 400
    assert json.loads(answer)["error"].startswith("body must be a JSON object")
    assert "Traceback" not in caplog.text
    assert "unhandled error" not in caplog.text
    assert after[0] == 200
