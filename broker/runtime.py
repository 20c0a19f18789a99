"""Render the committed mosquitto.conf for a local run, start Mosquitto, find the one running."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from broker.accounts import give_to_broker_user, write_private
from broker.pki import TlsPaths

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "mosquitto.conf"
CONTAINER_CONFIG = "/mosquitto/config/"
CONTAINER_DATA = "/mosquitto/data/"
CONTAINER_PLUGIN = "/usr/lib/mosquitto_dynamic_security.so"  # the official image's
PLUGIN_NAME = "mosquitto_dynamic_security.so"
PLUGIN_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib")
_LISTENER = re.compile(r"(?m)^listener (\d+) (\S+)$")


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


def render_config(
    template: str, port: int, paths: BrokerPaths, bind: str = "127.0.0.1", plugin: Path | None = None
) -> str:
    """The committed config with container paths pointed at `paths` and the listener moved."""
    text = template.replace(CONTAINER_CONFIG, f"{paths.config_dir}/").replace(CONTAINER_DATA, f"{paths.data_dir}/")
    text, count = re.subn(r"(?m)^listener 8883$", f"listener {port} {bind}", text)
    if count != 1:
        raise ValueError("mosquitto.conf must contain exactly one line 'listener 8883'")
    text = text.replace(f"plugin {CONTAINER_PLUGIN}", f"plugin {plugin or find_plugin() or CONTAINER_PLUGIN}")
    return text + f"\npid_file {paths.pid_file}\n"


def find_plugin(dirs: tuple[str, ...] = PLUGIN_DIRS) -> Path | None:
    """Where this machine's Mosquitto keeps its dynamic-security plugin (Debian: a multiarch folder).

    None where Mosquitto is not installed (compose's `init` container renders the config
    without running it).
    """
    for folder in dirs:
        if (Path(folder) / PLUGIN_NAME).is_file():
            return Path(folder) / PLUGIN_NAME
    return None


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
    if find_plugin() is None:
        raise ValueError(f"Mosquitto's {PLUGIN_NAME} is in none of {', '.join(PLUGIN_DIRS)}: install mosquitto 2.0+")
    os.execvp("mosquitto", ["mosquitto", "-c", str(config)])  # noqa: S606 - no shell, fixed argv


def running_listener(paths: BrokerPaths) -> tuple[str, int] | None:
    """(host, port) of the broker started from `paths` (`python -m broker run`) while it runs."""
    try:
        pid = int(paths.pid_file.read_text().strip())
        found = _LISTENER.search(paths.rendered_config.read_text())
    except (OSError, ValueError):
        return None
    if found is None or not _is_mosquitto(pid):
        return None
    host = found[2]
    return ("localhost" if host in ("0.0.0.0", "::") else host), int(found[1])  # noqa: S104 - a bind, read back


def _is_mosquitto(pid: int) -> bool:
    """A live process of that pid that is Mosquitto (a stale pid file may name another one)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "mosquitto"
    except OSError:
        return False
