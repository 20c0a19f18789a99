"""Run compose.yaml's services as local processes, where no Docker engine runs.

    with LocalCompose({"FOREWARN_API_TOKEN": token}) as stack:
        stack.up()                              # what `docker compose up` starts, in its order
        stack.scale("inference-worker", 3)      # what `--scale inference-worker=3` adds

Commands, environment, volumes, health checks and start order all come from compose.yaml;
only what a container changes is translated, in this module and nowhere else:

- the image's WORKDIR (/app) is the repository and `python` this virtualenv's interpreter;
- each named volume is a folder `volumes/<name>`; a service sees the container paths it
  uses under `fs/<service>/`, where each mount target is a symbolic link to its volume
  (or bind source), so every path the file names reaches the same data as in containers;
- the broker `mosquitto:8883` is a LocalBroker on a free port, started from the same
  mosquitto.conf on the broker's volumes; the API's port 8000 is a free port, `0.0.0.0` is
  127.0.0.1 and `http://api:` is `http://127.0.0.1:`;
- replica N of a service started through docker/replica_id.py gets FOREWARN_WORKER_ID=N,
  the id that script derives from the container's name `<project>-<service>-N`;
- a health check runs the service's own check command, told the service's process id
  (FOREWARN_HEALTHCHECK_PID) since the processes share this machine's network namespace.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from broker.local import LocalBroker, free_port
from contract import Topics
from tests.support.compose import REPO_ROOT, Service, active_services, load_compose, start_order

BROKER_SERVICE = "mosquitto"
MQTT_PORT = 8883
CONTAINER_ROOTS = ("/var/lib/forewarn", "/mosquitto")


class LocalCompose:
    """One stack of compose.yaml's services as processes, in a temporary folder."""

    def __init__(self, environ: Mapping[str, str], profiles: tuple[str, ...] = ()) -> None:
        self.doc = load_compose(environ)
        self.profiles = profiles
        self.root = Path(tempfile.mkdtemp(prefix="forewarn-compose-"))
        self.root.chmod(0o755)  # Mosquitto drops root and must reach its files
        self.api_port = free_port()
        self.broker: LocalBroker | None = None
        self.processes: dict[tuple[str, int], subprocess.Popen[bytes]] = {}
        self.exit_codes: dict[str, int] = {}

    # -- translation ---------------------------------------------------------------------

    def service(self, name: str) -> Service:
        return Service.of(self.doc, name)

    def volume_dir(self, name: str) -> Path:
        folder = self.root / "volumes" / name
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        return folder

    def fs(self, name: str) -> Path:
        """The service's view of its container paths: mount targets link to their volumes."""
        view = self.root / "fs" / name
        if not view.exists():
            # parents first, as Docker mounts them: a file bound inside a volume lands in it
            for mount in sorted(self.service(name).mounts, key=lambda m: m.target.count("/")):
                link = view / mount.target.lstrip("/")
                link.parent.mkdir(parents=True, exist_ok=True)
                source = (REPO_ROOT / mount.source).resolve() if mount.is_bind else self.volume_dir(mount.source)
                link.symlink_to(source)
            view.mkdir(parents=True, exist_ok=True)
        return view

    def translate(self, name: str, text: str) -> str:
        """A command word, environment value or health check, as the local process needs it."""
        roots = "|".join(re.escape(root) for root in CONTAINER_ROOTS)
        view = str(self.fs(name))
        text = re.sub(rf"(?<![\w./-])({roots})(?=[/\s\"':)]|$)", lambda m: view + m[1], text)
        text = re.sub(rf"(?<!\d){MQTT_PORT}(?!\d)", str(self.broker_port), text)
        text = re.sub(rf"(?<!\d){self.container_api_port}(?!\d)", str(self.api_port), text)
        text = text.replace("//api:", "//127.0.0.1:")
        return {"mosquitto": "localhost", "0.0.0.0": "127.0.0.1"}.get(text, text)  # noqa: S104

    @property
    def container_api_port(self) -> int:
        return int(self.service("api").environment.get("FOREWARN_API_PORT", "8000"))

    @property
    def broker_port(self) -> int:
        return self._ensure_broker().port

    def _ensure_broker(self) -> LocalBroker:
        if self.broker is None:
            self.broker = self._make_broker()
        return self.broker

    def environment(self, name: str, replica: int = 1) -> dict[str, str]:
        service = self.service(name)
        env = {key: self.translate(name, value) for key, value in service.environment.items()}
        var_dir = env.get("FOREWARN_VAR_DIR")
        if var_dir:
            Path(var_dir).mkdir(parents=True, exist_ok=True)
        if "docker/replica_id.py" in service.command:
            env["FOREWARN_WORKER_ID"] = str(replica)
        venv_bin = str(Path(sys.executable).parent)
        return {
            "PATH": f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "LANG": "C.UTF-8",
            "HOME": str(self.root),
            **env,
        }

    def argv(self, name: str) -> list[str]:
        return [self.translate(name, word) for word in self.service(name).command]

    def log_file(self, name: str, replica: int = 1) -> Path:
        folder = self.root / "logs"
        folder.mkdir(exist_ok=True)
        return folder / f"{name}-{replica}.log"

    # -- running -------------------------------------------------------------------------

    def _make_broker(self) -> LocalBroker:
        """The mosquitto service: its two volumes, laid out the way LocalBroker expects."""
        targets = {mount.target: mount for mount in self.service(BROKER_SERVICE).mounts}
        home = self.root / "broker-home"
        (home / "broker").mkdir(parents=True, exist_ok=True)
        for folder, target in (("config", "/mosquitto/config"), ("data", "/mosquitto/data")):
            (home / "broker" / folder).symlink_to(self.volume_dir(targets[target].source))
        # Accounts a test adds are bound in the registry volume, as `docker compose run init
        # python -m broker add-user` binds them, so the stack's workers see the bindings.
        (home / "registry").symlink_to(self.volume_dir("registry"))
        prefix = self.service(BROKER_SERVICE).environment.get("FOREWARN_TOPIC_PREFIX", "pdm")
        return LocalBroker(home, free_port(), Topics(prefix))

    def run_one_shot(self, name: str, timeout: float = 600) -> int:
        with self.log_file(name).open("ab") as log:
            result = subprocess.run(
                self.argv(name),
                cwd=REPO_ROOT,
                env=self.environment(name),
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        self.exit_codes[name] = result.returncode
        return result.returncode

    def start(self, name: str, replica: int = 1) -> subprocess.Popen[bytes]:
        if name == BROKER_SERVICE:
            broker = self._ensure_broker()
            broker.start()
            assert broker.process is not None
            self.processes[(name, replica)] = broker.process
            return broker.process
        with self.log_file(name, replica).open("ab") as log:
            process = subprocess.Popen(
                self.argv(name),
                cwd=REPO_ROOT,
                env=self.environment(name, replica),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes[(name, replica)] = process
        return process

    def check_health(self, name: str, replica: int = 1) -> tuple[bool, str]:
        """Run the service's own health check command once."""
        argv = self.service(name).healthcheck_argv
        if argv is None:
            return False, "no health check"
        process = self.processes[(name, replica)]
        if process.poll() is not None:
            return False, f"exited with {process.returncode}"
        env = self.environment(name, replica) | {"FOREWARN_HEALTHCHECK_PID": str(process.pid)}
        result = subprocess.run(
            [self.translate(name, word) for word in argv],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            timeout=20,
            check=False,
        )
        return result.returncode == 0, (result.stdout + result.stderr).decode(errors="replace").strip()

    def wait_healthy(self, name: str, replica: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            healthy, why = self.check_health(name, replica)
            if healthy:
                return
            if time.monotonic() > deadline or self.processes[(name, replica)].poll() is not None:
                raise AssertionError(f"{name}-{replica} not healthy: {why}\n{self.tail(name, replica)}")
            time.sleep(0.5)

    def up(self, wait: bool = True) -> list[str]:
        """Start the active services in dependency order, honouring each `depends_on` condition;
        with `wait`, return once every service is healthy, like `docker compose up --wait`."""
        order = start_order(self.doc, active_services(self.doc, self.profiles))
        for name in order:
            self._await_dependencies(name)
            if self.service(name).one_shot:
                code = self.run_one_shot(name)
                assert code == 0, f"{name} exited with {code}:\n{self.tail(name)}"
            else:
                self.start(name)
        for name in order if wait else ():
            if not self.service(name).one_shot:
                self.wait_healthy(name)
        return order

    def _await_dependencies(self, name: str) -> None:
        for dependency, condition in self.service(name).depends_on.items():
            if condition == "service_completed_successfully":
                assert self.exit_codes.get(dependency) == 0, f"{name} needs {dependency} to have completed"
            elif condition == "service_healthy":
                for service, replica in list(self.processes):
                    if service == dependency:
                        self.wait_healthy(service, replica)

    def scale(self, name: str, replicas: int) -> None:
        """Start replicas 2..N, as `docker compose up --scale NAME=N` adds them."""
        for replica in range(1, replicas + 1):
            if (name, replica) not in self.processes:
                self.start(name, replica)
        for replica in range(1, replicas + 1):
            self.wait_healthy(name, replica)

    def tail(self, name: str, replica: int = 1, size: int = 3000) -> str:
        path = self.broker.log_file if name == BROKER_SERVICE and self.broker else self.log_file(name, replica)
        return path.read_text(errors="replace")[-size:] if path.exists() else "(no log)"

    def down(self) -> None:
        for key in reversed(list(self.processes)):
            if key[0] != BROKER_SERVICE:
                _stop(self.processes[key])
        if self.broker is not None:
            self.broker.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalCompose:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.down()


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
