"""Render the committed mosquitto.conf for a local run, start Mosquitto, make it reload."""

from __future__ import annotations

import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path

from broker.accounts import give_to_broker_user, write_private
from broker.pki import TlsPaths

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "mosquitto.conf"
CONTAINER_CONFIG = "/mosquitto/config/"
CONTAINER_DATA = "/mosquitto/data/"


@dataclass(frozen=True)
class BrokerPaths:
    """The broker's runtime folder (var/broker by default)."""

    state_dir: Path

    @property
    def config_dir(self) -> Path:
        return self.state_dir / "config"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def tls(self) -> TlsPaths:
        return TlsPaths(self.config_dir / "tls")

    @property
    def rendered_config(self) -> Path:
        return self.state_dir / "mosquitto.conf"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "mosquitto.pid"


def render_config(template: str, port: int, paths: BrokerPaths, bind: str = "127.0.0.1") -> str:
    """The committed config with container paths pointed at `paths` and the listener moved."""
    text = template.replace(CONTAINER_CONFIG, f"{paths.config_dir}/").replace(CONTAINER_DATA, f"{paths.data_dir}/")
    text, count = re.subn(r"(?m)^listener 8883$", f"listener {port} {bind}", text)
    if count != 1:
        raise ValueError("mosquitto.conf must contain exactly one line 'listener 8883'")
    return text + f"\npid_file {paths.pid_file}\n"


def prepare(paths: BrokerPaths, port: int, bind: str = "127.0.0.1") -> Path:
    """Write the rendered config and make the folders the broker needs usable by it."""
    for folder in (paths.state_dir, paths.config_dir, paths.data_dir, paths.tls.folder):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755 if folder != paths.data_dir else 0o700)
    give_to_broker_user(paths.data_dir)
    give_to_broker_user(paths.state_dir)  # it writes its pid file here
    give_to_broker_user(paths.tls.server_key)
    write_private(paths.rendered_config, render_config(TEMPLATE.read_text(), port, paths, bind))
    return paths.rendered_config


def exec_broker(config: Path) -> None:
    """Replace this process with Mosquitto, so signals and logs are its own."""
    os.execvp("mosquitto", ["mosquitto", "-c", str(config)])  # noqa: S606 - no shell, fixed argv


def reload(paths: BrokerPaths) -> bool:
    """Ask a running broker to re-read passwords and ACL (SIGHUP); False if none runs."""
    try:
        pid = int(paths.pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        return False
    return True
