"""Container health checks of the Forewarn Python services (compose.yaml's `healthcheck`).

    python docker/healthcheck.py mqtt                                  # MQTT clients
    python docker/healthcheck.py http://127.0.0.1:8000/api/health      # the API

`mqtt`: healthy while the service holds an established connection to the broker's port
(FOREWARN_MQTT_PORT, 8883). The broker closes a refused login at once and the services keep
reconnecting, so an established session is what "up" means for a worker, a publisher or the
bot, and it needs neither a credential nor a change to the service. The sockets are those of
the process FOREWARN_HEALTHCHECK_PID (default 1, the container's init) and its descendants,
read from /proc.

A URL: healthy when it answers 200 within 5 s (the API's /api/health answers 503 until the
broker session and the database are up).

Exit status 0 when healthy, 1 when not, with one line saying why (Docker keeps it in
`docker inspect`).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")
ESTABLISHED = "01"


def descendants(root: int, proc: Path = PROC) -> set[int]:
    """`root` and every process below it (parents read from /proc/<pid>/stat)."""
    children: dict[int, list[int]] = {}
    for stat in proc.glob("[0-9]*/stat"):
        try:
            pid, ppid = parse_stat(stat.read_text())
        except (OSError, ValueError):
            continue  # the process ended while we looked
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def parse_stat(text: str) -> tuple[int, int]:
    """(pid, ppid) from /proc/<pid>/stat; the command name may hold spaces and parentheses."""
    pid = int(text.split(" ", 1)[0])
    after_name = text[text.rindex(")") + 2 :].split()
    return pid, int(after_name[1])


def socket_inodes(pids: Iterable[int], proc: Path = PROC) -> set[str]:
    """The inodes of the sockets the processes hold open."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in (proc / str(pid) / "fd").iterdir()]
        except OSError:
            continue
        inodes.update(link[8:-1] for link in links if link.startswith("socket:["))
    return inodes


def established_to(port: int, table: str) -> set[str]:
    """Inodes of the connections in a /proc/net/tcp(6) table that are established to `port`."""
    inodes: set[str] = set()
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 9 and fields[3] == ESTABLISHED and int(fields[2].rsplit(":", 1)[1], 16) == port:
            inodes.add(fields[9])
    return inodes


def check_mqtt(port: int, root_pid: int, proc: Path = PROC) -> tuple[bool, str]:
    """Whether the process tree of `root_pid` holds an established connection to `port`."""
    tables = "".join(_read(proc / "net" / name) for name in ("tcp", "tcp6"))
    connected = established_to(port, tables) & socket_inodes(descendants(root_pid, proc), proc)
    if connected:
        return True, f"connected to the broker (port {port})"
    return False, f"no established connection to the broker's port {port}"


def check_http(url: str, timeout: float = 5.0) -> tuple[bool, str]:
    """Whether `url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own URL
            return response.status == 200, f"{url}: HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{url}: HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return False, f"{url}: {exc}"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"unhealthy: {name}={raw!r} is not an integer") from None


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not (argv[0] == "mqtt" or argv[0].startswith(("http://", "https://"))):
        print("usage: python docker/healthcheck.py mqtt | URL", file=sys.stderr)
        return 2
    if argv[0] == "mqtt":
        healthy, why = check_mqtt(_env_int("FOREWARN_MQTT_PORT", 8883), _env_int("FOREWARN_HEALTHCHECK_PID", 1))
    else:
        healthy, why = check_http(argv[0])
    print(("healthy: " if healthy else "unhealthy: ") + why)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
