"""S9: secret files are private, never tracked by git and never written to a log.

Secrets: the CA and server keys, the broker's account file (dynamic-security plugin: password
hashes and rights), the tooling's admin password, the services' MQTT passwords, the API token
and the Telegram bot token.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from broker.local import LocalBroker, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.reliability.harness import Pipeline, report, wait_until
from tests.support.stack import REPO_ROOT, kill, spawn

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "mosquitto password hash": re.compile(r"\$7\$\d+\$[A-Za-z0-9+/=]{8,}\$"),
    "telegram bot token": re.compile(r"\b\d{8,10}:[A-Za-z0-9_-]{35}\b"),
}
TRACKED_NAMES = re.compile(
    r"(^|/)(var/|\.env$|passwd$|acl$|users\.json$|dynamic-security\.json$)|\.(key|password|pem)$"
)


def test_s9_secret_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    state = tmp_path / "var"
    done = subprocess.run(
        [sys.executable, "-m", "broker", "init"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "FOREWARN_VAR_DIR": str(state)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    config = state / "broker" / "config"
    files = [
        *sorted((state / "secrets").glob("*.password")),
        config / "dynsec" / "dynamic-security.json",
        config / "tls" / "ca.key",
        config / "tls" / "server.key",
    ]
    modes = {str(path.relative_to(state)): oct(stat.S_IMODE(path.stat().st_mode)) for path in files}
    folders = {
        str(path.relative_to(state)): oct(stat.S_IMODE(path.stat().st_mode))
        for path in (state / "secrets", config / "dynsec")
    }
    report("S9-modes", files=modes, folders=folders)
    assert (state / "secrets" / "broker-admin.password").exists()
    assert len(files) >= 10  # 6 stack accounts, the admin, the plugin's file, 2 keys
    assert all(int(mode, 8) & 0o077 == 0 for mode in modes.values()), modes
    # Mosquitto saves the plugin's file with its umask: the folder keeps it private.
    assert all(int(mode, 8) & 0o077 == 0 for mode in folders.values()), folders


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_s9_no_secret_is_tracked_by_git() -> None:
    if _git("rev-parse", "--is-inside-work-tree").returncode != 0:
        pytest.skip("not a git checkout")
    tracked = _git("ls-files").stdout.splitlines()
    secret_files = [name for name in tracked if TRACKED_NAMES.search(name)]
    ignored = _git("check-ignore", "var/secrets/api.password", "var/broker/config/dynsec/x.json", ".env").stdout.split()
    found = []
    for name in tracked:
        path = REPO_ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(errors="ignore")
        found += [
            (name, kind)
            for kind, pattern in SECRET_PATTERNS.items()
            if pattern.search(text) and not _is_test_fake(text, kind)
        ]
    report("S9-git", tracked_files=len(tracked), secret_files=secret_files, secret_contents=found)
    assert secret_files == []
    assert set(ignored) == {"var/secrets/api.password", "var/broker/config/dynsec/x.json", ".env"}
    assert found == []


def _is_test_fake(text: str, kind: str) -> bool:
    """The fake Telegram server's made-up token ("...:FAKE-token-for-tests...") is no secret."""
    tokens = SECRET_PATTERNS["telegram bot token"].findall(text)
    return kind == "telegram bot token" and all(":FAKE-token-for-tests" in token for token in tokens)


@pytest.fixture
def debug_stack(own_broker: LocalBroker, models_dir: Path, tmp_path: Path):
    """Worker, publisher, API and bot as processes logging at DEBUG; yields the secrets and the logs."""
    with Pipeline(own_broker, models_dir, tmp_path) as line, FakeTelegram() as telegram:
        line.start_tally()
        debug = {"FOREWARN_LOG_LEVEL": "DEBUG"}
        api_token = secrets.token_urlsafe(24)
        api_port = free_port()
        bot_password = own_broker.add_user("telegram-bot", "viewer")
        api_env = (
            os.environ
            | debug
            | {
                "FOREWARN_DATABASE_URL": f"sqlite:///{line.db_path}",
                "FOREWARN_API_PORT": str(api_port),
                "FOREWARN_API_TOKEN": api_token,
                "FOREWARN_DASHBOARD_DIR": "/nonexistent-dashboard",
                "FOREWARN_MQTT_HOST": own_broker.host,
                "FOREWARN_MQTT_PORT": str(own_broker.port),
                "FOREWARN_MQTT_CA": str(own_broker.ca_file),
                "FOREWARN_MQTT_USERNAME": "api",
                "FOREWARN_MQTT_PASSWORD": line.api_password,
            }
        )
        api = spawn("api", api_env, tmp_path / "api.log")
        line.wait_service_online("api", api, tmp_path / "api.log")  # subscribed: predictions reach it
        bot_env = api_env | {
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_BASE_URL": telegram.base_url,
            "TELEGRAM_ALLOWED_CHAT_IDS": "111",
            "FOREWARN_API_URL": f"http://127.0.0.1:{api_port}",
            "FOREWARN_MQTT_USERNAME": "telegram-bot",
            "FOREWARN_MQTT_PASSWORD": bot_password,
            "FOREWARN_TELEGRAM_STATE_DIR": str(tmp_path / "bot"),
            "TELEGRAM_POLL_TIMEOUT_S": "1",
        }
        bot = spawn("telegram_bot", bot_env, tmp_path / "bot.log")
        try:
            line.start_worker("s9", env=debug)
            publisher = line.start_publisher("s9-mill", count=50, rate=50, env=debug)
            yield {
                "api": api_port,
                "telegram": telegram,
                "line": line,
                "publisher": publisher,
                "secrets": {
                    "api token": api_token,
                    "bot token": telegram.token,
                    "api password": line.api_password,
                    "worker password": line.worker_passwords["s9"],
                    "broker admin password": own_broker.accounts.admin_file.read_text().strip(),
                    "bot password": bot_password,
                    "sensor password": publisher.password,
                },
            }
        finally:
            for process in (bot, api):
                kill(process, signal.SIGTERM)


def _http(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET", body: bytes = b"") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body or None, headers=headers or {})
    status = conn.getresponse().status
    conn.close()
    return status


def test_s9_no_secret_appears_in_any_log(debug_stack, own_broker: LocalBroker, tmp_path: Path) -> None:
    port, line, telegram = debug_stack["api"], debug_stack["line"], debug_stack["telegram"]
    token = debug_stack["secrets"]["api token"]
    assert wait_until(lambda: _reachable(port), 60), "API did not start"
    line.wait_publishers(60)
    assert line.wait_stored(50, 60)
    # the token travels in a header, a query string and a wrong guess; the bot is asked for things
    _http(
        port,
        "/api/alerts/x/ack",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        "POST",
        b'{"by": "ann"}',
    )
    _http(port, f"/api/export.csv?access_token={token}")
    _http(port, "/api/alerts/x/ack", {"Authorization": f"Bearer {token}x"}, "POST", b"{}")
    for command in ("/start", "/status", "/ack x"):
        telegram.user_says(chat_id=111, text=command)
    telegram.wait_for(lambda fake: len(fake.messages_to(111)) >= 2, timeout=20)
    time.sleep(1)
    logs = {path.name: path.read_text(errors="replace") for path in tmp_path.glob("*.log")}
    logs["mosquitto.log"] = own_broker.log_file.read_text(errors="replace")
    leaks = [
        (name, kind) for name, text in logs.items() for kind, secret in debug_stack["secrets"].items() if secret in text
    ]
    debug_lines = sum(text.count(" DEBUG ") for text in logs.values())
    report(
        "S9-logs",
        logs=sorted(logs),
        log_bytes=sum(len(t) for t in logs.values()),
        debug_lines=debug_lines,
        secrets_checked=len(debug_stack["secrets"]),
        leaks=leaks,
    )
    assert debug_lines > 0, "nothing logged at DEBUG: the check would prove nothing"
    assert {"api.log", "bot.log", "mosquitto.log", "worker-s9.log", "publisher-s9-mill.log"} <= set(logs)
    assert leaks == []


def _reachable(port: int) -> bool:
    try:
        return _http(port, "/api/health") in (200, 503)
    except OSError:
        return False
