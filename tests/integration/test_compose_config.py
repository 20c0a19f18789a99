"""`docker compose config` on compose.yaml, where Docker Compose v2 is installed.

No Docker engine is needed: `config` parses, validates against the Compose specification
and interpolates. Skipped (with the reason) when neither `docker compose` nor a v2
`docker-compose` is on this machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache

import pytest

from tests.support.compose import REPO_ROOT, Service, active_services, load_compose

TOKEN = "config-test-token-0123456789"


@cache
def compose_command() -> list[str] | None:
    candidates = [["docker", "compose"]] if shutil.which("docker") else []
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for command in candidates:
        result = subprocess.run([*command, "version", "--short"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip().lstrip("v").startswith("2."):
            return command
    return None


def compose(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = compose_command()
    if command is None:
        pytest.skip("Docker Compose v2 is not installed (`docker compose` or docker-compose v2)")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FOREWARN_", "TELEGRAM_", "COMPOSE_"))}
    return subprocess.run(
        [*command, "-f", str(REPO_ROOT / "compose.yaml"), *args],
        cwd=REPO_ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _literal(text: str) -> str:
    """Compose's output is itself a compose file, so it writes a literal `$` as `$$`."""
    return text.replace("$$", "$")


def test_the_file_is_valid() -> None:
    result = compose("config", "--quiet", FOREWARN_API_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr


def test_a_missing_api_token_stops_compose_with_the_files_message() -> None:
    result = compose("config", "--quiet")
    assert result.returncode != 0
    assert "FOREWARN_API_TOKEN" in result.stderr
    assert "docs/DOCKER.md" in result.stderr


@pytest.mark.parametrize("profiles", [(), ("telegram",)])
def test_compose_reads_the_file_as_our_tests_do(profiles: tuple[str, ...]) -> None:
    """Services, commands, environment and volumes as Compose resolves them = what the tests run."""
    args = [arg for profile in profiles for arg in ("--profile", profile)]
    result = compose(*args, "config", "--format", "json", FOREWARN_API_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr
    theirs = json.loads(result.stdout)["services"]
    ours = load_compose({"FOREWARN_API_TOKEN": TOKEN})
    assert set(theirs) == set(active_services(ours, profiles))
    for name, spec in theirs.items():
        mine = Service.of(ours, name)
        assert [_literal(word) for word in spec.get("command", [])] == mine.command, name
        assert {k: _literal(v or "") for k, v in spec.get("environment", {}).items()} == mine.environment, name
        assert [(v["source"], v["target"]) for v in spec.get("volumes", [])] == [
            (m.source if not m.is_bind else str((REPO_ROOT / m.source).resolve()), m.target) for m in mine.mounts
        ], name
