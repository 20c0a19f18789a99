"""Session-wide fixtures: one real Mosquitto (TLS, users, ACL) from the project's own config."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.local import LocalBroker

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalBroker]:
    """A real Mosquitto on a free port, started from mosquitto.conf; shared by the session."""
    with LocalBroker.create() as running:
        yield running


@pytest.fixture
def machine_id() -> str:
    """A machine id no other test uses, so tests never see each other's messages."""
    return f"m-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def own_broker() -> Iterator[LocalBroker]:
    """A broker of the test's own, for tests that stop, kill or restart it."""
    with LocalBroker.create() as running:
        yield running


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained by the real trainer on the shipped data, once per session."""
    folder = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, "-m", "training", "--models-dir", str(folder)],
        check=True,
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=600,
    )
    return folder


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No FOREWARN_* setting of the machine leaks into a settings test; its var folder is its own."""
    for name in [name for name in os.environ if name.startswith("FOREWARN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FOREWARN_VAR_DIR", str(tmp_path))
    return monkeypatch
