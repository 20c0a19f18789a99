"""Tokens, CORS, size and rate limits, JSON errors, and the settings read from the environment."""

# response.json is "Any | None" to mypy: indexing it is what these tests do
# mypy: disable-error-code="index"

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from api import create_app, runtime_of
from api.config import load
from common.settings import ConfigError
from tests.support.api import ALLOWED_ORIGIN, TOKEN, alert, feed, test_config

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """Security does not depend on the engine: SQLite only."""
    built = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}"))
    yield built
    runtime_of(built).stop()


def _write_routes(app: Flask) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<{argument}>", "x")
            routes.append((method, path))
    return routes


def test_there_are_write_routes_to_check(app: Flask) -> None:
    assert ("POST", "/api/alerts/x/ack") in _write_routes(app)


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}", "Bearer", f"bearer {TOKEN}x"]
)
def test_every_write_route_refuses_a_missing_or_wrong_token(app: Flask, header: str | None) -> None:
    feed(app, alerts=[alert("m1", "x")])
    client = app.test_client()
    for method, path in _write_routes(app):
        headers = {"Authorization": header} if header else {}
        answer = client.open(path, method=method, json={"by": "eve"}, headers=headers)
        assert answer.status_code == 401, (method, path)
        assert answer.json["error"]
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/alerts").json["alerts"][0]["acked_by"] is None


def test_writes_are_disabled_without_a_configured_token(tmp_path: Path) -> None:
    app = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}", write_token=None))
    try:
        answer = app.test_client().post("/api/alerts/x/ack", json={"by": "a"}, headers={"Authorization": "Bearer x"})
        assert answer.status_code == 503
        assert "FOREWARN_API_TOKEN" in answer.json["error"]
    finally:
        runtime_of(app).stop()


def test_reads_can_be_made_to_need_the_token(tmp_path: Path) -> None:
    app = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}", read_token_required=True))
    client = app.test_client()
    try:
        assert client.get("/api/machines").status_code == 401
        assert client.get("/api/machines", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert client.get(f"/api/machines?access_token={TOKEN}").status_code == 401  # headers only here
        assert client.get(f"/api/export.csv?access_token={TOKEN}").status_code == 200  # download links
        assert client.get("/api/health").status_code == 503  # open to probes (no broker here)
        assert client.get("/api/openapi.json").status_code == 200
    finally:
        runtime_of(app).stop()


def test_a_configured_origin_gets_cors_headers_and_a_hostile_one_none(app: Flask) -> None:
    client = app.test_client()
    allowed = client.get("/api/machines", headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in allowed.headers["Vary"]
    hostile = client.get("/api/machines", headers={"Origin": "https://evil.example"})
    assert not [h for h in hostile.headers if h[0].lower().startswith("access-control-")]


def test_preflight_is_answered_for_a_configured_origin_only(app: Flask) -> None:
    client = app.test_client()
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allowed = client.options("/api/alerts/x/ack", headers={"Origin": ALLOWED_ORIGIN, **asked})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    hostile = client.options("/api/alerts/x/ack", headers={"Origin": "https://evil.example", **asked})
    assert not [h for h in hostile.headers if h[0].lower().startswith("access-control-")]


def test_a_20_kib_body_is_refused_with_413(app: Flask) -> None:
    answer = app.test_client().post(
        "/api/alerts/x/ack",
        data=b'{"by": "' + b"a" * 20_480 + b'"}',
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.is_json
    assert answer.json["error"]


def test_a_write_burst_is_limited_with_retry_after(app: Flask) -> None:
    client = app.test_client()
    codes = [client.post("/api/alerts/x/ack", json={"by": "a"}).status_code for _ in range(40)]
    assert codes[:20] == [401] * 20  # the burst reaches the token check
    assert 429 in codes[20:]
    limited = client.post("/api/alerts/x/ack", json={"by": "a"})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/nothing", 404),
        ("DELETE", "/api/machines", 405),
        ("GET", "/../etc/passwd", 404),
        ("GET", "/missing.js", 404),
    ],
)
def test_errors_are_json_without_a_traceback(app: Flask, method: str, path: str, status: int) -> None:
    answer = app.test_client().open(path, method=method)
    assert answer.status_code == status
    assert answer.is_json
    assert set(answer.json or ()) == {"error", "field"}
    assert "Traceback" not in answer.get_data(as_text=True)


def test_an_unexpected_failure_is_a_json_500(app: Flask) -> None:
    with runtime_of(app).engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE predictions"))  # a database in a state nobody planned for
    answer = app.test_client().get("/api/log")
    assert answer.status_code == 500
    assert answer.json == {"error": "internal error", "field": None}


def test_the_placeholder_page_tells_how_to_build_the_dashboard(app: Flask) -> None:
    answer = app.test_client().get("/")
    assert answer.status_code == 200
    assert "npm run build" in answer.get_data(as_text=True)


def test_the_built_dashboard_is_served(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>forewarn dashboard</html>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    app = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}", dashboard_dir=dist))
    try:
        client = app.test_client()
        assert "forewarn dashboard" in client.get("/").get_data(as_text=True)
        assert client.get("/assets/app.js").get_data(as_text=True) == "console.log(1)"
        assert client.get("/assets/../../api.db").status_code == 404
    finally:
        runtime_of(app).stop()


def test_settings_come_from_the_environment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch = clean_env
    monkeypatch.setenv("FOREWARN_MQTT_PASSWORD", "secret")
    monkeypatch.setenv("FOREWARN_CORS_ORIGINS", "https://a.example, http://localhost:5173/")
    monkeypatch.setenv("FOREWARN_API_READ_TOKEN_REQUIRED", "yes")
    monkeypatch.setenv("FOREWARN_API_TOKEN", TOKEN)
    config = load()
    assert config.port == 8000
    assert config.host == "127.0.0.1"
    assert config.database_url == f"sqlite:///{tmp_path / 'api' / 'forewarn.db'}"
    assert config.cors_origins == ("https://a.example", "http://localhost:5173")
    assert config.read_token_required
    assert config.write_token == TOKEN
    assert config.mqtt is not None
    assert (config.mqtt.username, config.mqtt.client_id) == ("api", "api")
    assert config.mqtt.session_expiry_s == 86_400


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("FOREWARN_CORS_ORIGINS", "*", "FOREWARN_CORS_ORIGINS"),
        ("FOREWARN_CORS_ORIGINS", "evil.example", "FOREWARN_CORS_ORIGINS"),
        ("FOREWARN_API_TOKEN", "short", "FOREWARN_API_TOKEN"),
        ("FOREWARN_API_READ_TOKEN_REQUIRED", "maybe", "FOREWARN_API_READ_TOKEN_REQUIRED"),
        ("FOREWARN_API_PORT", "http", "FOREWARN_API_PORT"),
        ("FOREWARN_API_MAX_STREAMS", "0", "FOREWARN_API_MAX_STREAMS"),
    ],
)
def test_a_bad_setting_is_a_one_line_config_error(
    clean_env: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    clean_env.setenv("FOREWARN_MQTT_PASSWORD", "secret")
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=fragment) as caught:
        load()
    assert "\n" not in str(caught.value)


def test_a_missing_mqtt_password_file_is_named(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"api\.password"):
        load()
