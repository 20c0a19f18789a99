"""tests/unit does no I/O: a unit test fails if it opens a network connection, starts a
process, opens a database or writes a file, or asks for a temporary folder.

Reading the repository's own committed files (contract/examples, docker/*.py) is allowed,
like importing a module. Such a test belongs in tests/integration. The guard is a Python
audit hook (PEP 578), active only while a unit test runs, in its own threads (the main one
and those started during the test), so background threads of other fixtures are left alone.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Generator
from typing import Any

import pytest

_FORBIDDEN = {
    "socket.bind",
    "socket.connect",
    "subprocess.Popen",
    "os.exec",
    "os.posix_spawn",
    "os.system",
    "sqlite3.connect",
    "os.mkdir",
    "os.remove",
    "os.rename",
    "shutil.rmtree",
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_TOOL_STATE = ("__pycache__", ".hypothesis")  # bytecode of modules first imported in a test, hypothesis' database
_TEMPORARY = {"tmp_path", "tmp_path_factory", "tmpdir", "tmpdir_factory"}


class _Guard:
    def __init__(self) -> None:
        self.active = False
        self.bystanders: set[int] = set()  # threads that were running before the test started
        self.violations: list[str] = []

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or threading.get_ident() in self.bystanders:
            return
        if event in _FORBIDDEN or (event == "open" and _writes(args)):
            self.violations.append(f"{event} {args!r:.200}")
            raise PermissionError(f"tests/unit does no I/O ({event}): move this test to tests/integration")


def _writes(args: tuple[Any, ...]) -> bool:
    path, mode, flags = args
    if any(part in str(path) for part in _TOOL_STATE):
        return False
    return bool(
        (isinstance(mode, str) and set(mode) & set("wax+")) or (isinstance(flags, int) and flags & _WRITE_FLAGS)
    )


_guard = _Guard()
sys.addaudithook(_guard.audit)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    asked = _TEMPORARY & set(getattr(item, "fixturenames", ()))
    if asked:
        pytest.fail(f"tests/unit does no I/O: {item.name} asks for {', '.join(sorted(asked))}", pytrace=False)
    main = threading.main_thread().ident
    _guard.bystanders = {t.ident for t in threading.enumerate() if t.ident is not None and t.ident != main}
    _guard.violations = []
    _guard.active = True
    try:
        outcome = yield
    finally:
        _guard.active = False
    if _guard.violations:  # also when the code under test swallowed the PermissionError
        pytest.fail(f"tests/unit does no I/O: {'; '.join(_guard.violations)}", pytrace=False)
    return outcome
