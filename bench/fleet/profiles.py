"""Sampling profiles of the stack's Python processes during a step's window (``--profile DIR``).

py-spy (``pip install py-spy``: a tool, not a project dependency) records each process for the
window without stopping it (``--nonblocking``), as collapsed stacks ("frame;frame;frame count"
per line). :func:`summary` turns such a file into the frames that hold the most samples, so
the bench can say where each process spends its time -- the evidence for which part of the
stack breaks first.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Recording", "find_py_spy", "record", "summary"]

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def find_py_spy(explicit: str | None) -> str | None:
    return explicit if explicit and Path(explicit).is_file() else shutil.which("py-spy")


@dataclass
class Recording:
    role: str
    pid: int
    path: Path
    process: subprocess.Popen[bytes]

    def wait(self, timeout: float) -> bool:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return False
        return self.path.exists()


def record(py_spy: str, role: str, pid: int, *, seconds: float, path: Path, rate: int = 67) -> Recording:
    """Start recording `pid` for `seconds` into `path` (collapsed stacks, idle threads left out)."""
    command = [py_spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", str(rate)]
    command += ["--nonblocking", "--format", "raw", "--output", str(path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Recording(role, pid, path, process)


def _short(frame: str) -> str:
    """'write_batch (api/store.py:55)' -> 'api/store.py:write_batch' (site-packages paths shortened)."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    file = match["file"]
    if "site-packages/" in file:
        file = file.split("site-packages/", 1)[1]
    elif "/lib/python" in file:
        file = "stdlib/" + file.split("/lib/python", 1)[1].split("/", 1)[-1]
    return f"{file}:{match['function']}"


# Calls that block: a thread sampled in one of these was waiting (for I/O, a lock, or -- on a
# loaded machine -- for a core after being woken), not computing. They are counted apart.
WAITING = (
    ":Condition.wait",
    ":Event.wait",
    ":EpollSelector.select",
    ":select",
    ":poll",
    ":sleep",
    ":SocketIO.readinto",
    ":Queue.get",
    ":wait",
    "network.py:wait",
    "server.py:accept",
    "wasyncore.py:poll",
)


def _waiting(frame: str) -> bool:
    return frame.endswith(WAITING)


def summary(text: str, top: int = 8) -> dict[str, object]:
    """Where a process's samples went: the share spent waiting, and among the others the
    frames most often on top of the stack (self) and anywhere on it (inclusive), in % of the
    working samples."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = waiting = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        if _waiting(frames[-1]):
            waiting += count
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    working = total - waiting
    share = (lambda n: round(100 * n / working, 1)) if working else (lambda _n: 0.0)
    return {
        "samples": total,
        "waiting_pct": round(100 * waiting / total, 1) if total else 0.0,
        "self": [(frame, share(n)) for frame, n in own.most_common(top)],
        "inclusive": [(frame, share(n)) for frame, n in inclusive.most_common(top * 3)],
    }
