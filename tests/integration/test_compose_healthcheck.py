"""docker/healthcheck.py against real sockets, real processes and a real HTTP server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "healthcheck.py"


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def run_check(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_mqtt_healthy_while_the_process_holds_a_connection(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port)):
        result = run_check("mqtt", FOREWARN_MQTT_PORT=str(port), FOREWARN_HEALTHCHECK_PID=str(os.getpid()))
    assert result.returncode == 0, result.stdout
    assert result.stdout == f"healthy: connected to the broker (port {port})\n"


def test_mqtt_unhealthy_without_a_connection(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    result = run_check("mqtt", FOREWARN_MQTT_PORT=str(port), FOREWARN_HEALTHCHECK_PID=str(os.getpid()))
    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy: no established connection")


def test_mqtt_counts_only_the_service_and_its_children(listener: socket.socket) -> None:
    """Another process's connection (here: this test's) does not make a service healthy."""
    port = listener.getsockname()[1]
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with socket.create_connection(("127.0.0.1", port)):
            result = run_check("mqtt", FOREWARN_MQTT_PORT=str(port), FOREWARN_HEALTHCHECK_PID=str(child.pid))
    finally:
        child.kill()
        child.wait()
    assert result.returncode == 1


def test_mqtt_sees_connections_of_descendants(listener: socket.socket) -> None:
    """Under compose's `init: true` the service is a child of PID 1."""
    port = listener.getsockname()[1]
    child = (
        f"import os, socket, time; s = socket.create_connection(('127.0.0.1', {port})); "
        "print(os.getpid(), flush=True); time.sleep(30)"
    )
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"
    process = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    grandchild = int(process.stdout.readline())
    try:
        result = run_check("mqtt", FOREWARN_MQTT_PORT=str(port), FOREWARN_HEALTHCHECK_PID=str(process.pid))
    finally:
        os.kill(grandchild, signal.SIGKILL)
        process.wait(timeout=10)
    assert result.returncode == 0, result.stdout


def test_a_bad_port_setting_is_one_line() -> None:
    result = run_check("mqtt", FOREWARN_MQTT_PORT="eighty")
    assert result.returncode == 1
    assert result.stderr == "unhealthy: FOREWARN_MQTT_PORT='eighty' is not an integer\n"


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503 if self.path == "/down" else 200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def http_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_health(http_base: str) -> None:
    assert run_check(f"{http_base}/api/health").returncode == 0
    down = run_check(f"{http_base}/down")
    assert (down.returncode, down.stdout) == (1, f"unhealthy: {http_base}/down: HTTP 503\n")


def test_http_nobody_listening(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    listener.close()
    result = run_check(f"http://127.0.0.1:{port}/api/health")
    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy:")
