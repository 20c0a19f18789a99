"""Start and stop a real Mosquitto from the project's own config, for tests and benchmarks.

    with LocalBroker.create() as broker:
        password = broker.add_user("press-7", "sensor")
        settings = broker.settings("press-7", password)

The state folder is made under /tmp with mode 0755, not pytest's private tmp_path, because
Mosquitto drops root for the `mosquitto` user and must be able to read its files.
"""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from broker.accounts import Accounts
from broker.bindings import bind
from broker.pki import ensure_pki
from broker.runtime import BrokerPaths, prepare
from common.mqtt import MqttSettings
from contract import DEFAULT_PROFILE, Topics


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalBroker:
    """One Mosquitto process on a free loopback port with TLS, users and ACL."""

    def __init__(self, root: Path, port: int, topics: Topics) -> None:
        self.root = root
        self.port = port
        self.host = "localhost"
        self.topics = topics
        self.paths = BrokerPaths(root / "broker")
        self.accounts = Accounts(self.paths.config_dir, topics)
        self.registry_dir = root / "registry"  # machine -> profile, as `python -m broker add-user` writes it
        self.log_file = root / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, topics: Topics | None = None) -> LocalBroker:
        root = Path(tempfile.mkdtemp(prefix="forewarn-broker-"))
        root.chmod(0o755)
        broker = cls(root, free_port(), topics or Topics())
        ensure_pki(broker.paths.tls)
        broker.accounts.add("__probe__", "viewer")  # the broker refuses an empty password file
        return broker

    @property
    def ca_file(self) -> Path:
        return self.paths.tls.ca_cert

    def add_user(self, name: str, role: str, profile: str | None = None) -> str:
        """Create or rotate a user; a sensor is bound to `profile` (default ai4i-mill) like the CLI does."""
        if role == "sensor":
            bind(self.registry_dir, name, profile or DEFAULT_PROFILE)
        password = self.accounts.add(name, role)
        self.reload()
        return password

    def settings(self, username: str, password: str, client_id: str | None = None, **extra: object) -> MqttSettings:
        return MqttSettings(
            host=self.host,
            port=self.port,
            ca_file=self.ca_file,
            username=username,
            password=password,
            client_id=client_id or username,
            **extra,  # type: ignore[arg-type]
        )

    def start(self, timeout: float = 10.0) -> None:
        config = prepare(self.paths, self.port)
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=log, stderr=log)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        context = ssl.create_default_context(cafile=str(self.ca_file))
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log_file.read_text()[-2000:]}")
            try:
                with (
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw,
                    context.wrap_socket(raw, server_hostname="localhost"),
                ):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto not ready on port {self.port} after {timeout}s")

    def reload(self) -> None:
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGHUP)
            time.sleep(0.2)  # the broker applies SIGHUP on its next loop iteration

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the broker (SIGTERM saves persistence; SIGKILL simulates a crash)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.destroy()
