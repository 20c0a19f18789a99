"""Small helpers each service's `config.py` uses to read the environment.

A missing or malformed setting raises :class:`ConfigError`; :func:`run_cli` turns it
into a one-line message and exit status 2 instead of a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "ConfigError",
    "env_float",
    "env_int",
    "env_optional_secret",
    "env_path",
    "env_secret",
    "env_str",
    "run_cli",
    "var_dir",
]


class ConfigError(Exception):
    """A setting that is missing or malformed; the message names it."""


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default) or default


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def env_float(name: str, default: float, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def var_dir() -> Path:
    """The one folder holding all runtime state (certificates, passwords, models, databases)."""
    return Path(env_str("FOREWARN_VAR_DIR", "var")).resolve()


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw) if raw else default


def env_secret(name: str, file_default: Path | None = None) -> str:
    """A secret from NAME, else from the file named by NAME_FILE (or `file_default`)."""
    value = os.environ.get(name)
    if value:
        return value
    file_name = os.environ.get(f"{name}_FILE")
    path = Path(file_name) if file_name else file_default
    if path is None:
        raise ConfigError(f"{name} (or {name}_FILE) must be set")
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None


def env_optional_secret(name: str) -> str | None:
    """NAME, else the file named by NAME_FILE, else None (for secrets a service can do without)."""
    if not os.environ.get(name) and not os.environ.get(f"{name}_FILE"):
        return None
    return env_secret(name).strip() or None


def run_cli(main: Callable[[], int | None]) -> None:
    """Run an entrypoint; configuration errors end in one line on stderr, exit 2."""
    try:
        code = main()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    sys.exit(code or 0)
