"""Debian's nginx in front of a test API, with the project's docs/nginx-forewarn.conf.

    with Nginx(api_port) as proxy:       # listens on 127.0.0.1:proxy.port, forwards to the API
        ...

The shipped file is used as is but for its two addresses (where nginx listens, where the API
is); a minimal main configuration around it keeps every file nginx writes in a temporary
folder. The process is stopped by its id.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from broker.local import free_port
from tests.support.stack import REPO_ROOT

__all__ = ["SITE_CONFIG", "Nginx", "NginxMissing"]

SITE_CONFIG = REPO_ROOT / "docs" / "nginx-forewarn.conf"
_MAIN = """\
worker_processes 1;
daemon off;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    include {root}/forewarn.conf;
}}
"""


class NginxMissing(RuntimeError):
    """nginx is not installed (scripts/test.sh installs it)."""


class Nginx:
    """One nginx master process serving the site configuration on a free port."""

    def __init__(self, api_port: int) -> None:
        binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if binary is None:
            raise NginxMissing("nginx is not installed (apt-get install nginx)")
        self.binary = binary
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="forewarn-nginx-"))
        site = SITE_CONFIG.read_text()
        site = re.sub(r"^(\s*)listen 8080;", rf"\g<1>listen 127.0.0.1:{self.port};", site, count=1, flags=re.M)
        site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{api_port};", 1)
        (self.root / "forewarn.conf").write_text(site)
        user = "user root;" if os.geteuid() == 0 else ""  # workers would drop to `nobody` otherwise
        (self.root / "nginx.conf").write_text(_MAIN.format(root=self.root, user=user))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        command = [self.binary, "-p", str(self.root), "-c", str(self.root / "nginx.conf")]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refuses the configuration: {check.stderr}")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen: {self.errors()}")

    def errors(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the master stops its workers
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
