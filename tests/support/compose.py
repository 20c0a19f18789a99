"""compose.yaml as data, for tests: load it as Docker Compose would and read its services.

    doc = load_compose({"FOREWARN_API_TOKEN": "..."})   # ${...} resolved from that mapping
    service = Service.of(doc, "api")
    service.command, service.environment, service.mounts, service.healthcheck_argv

`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}` and `$$`
are resolved like Compose does, after YAML parsing (YAML anchors and merge keys included);
a required variable that is missing raises MissingVariable with the file's message.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "compose.yaml"
WORKDIR = "/app"  # the image's WORKDIR (Dockerfile): the repository's root

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(Exception):
    """A `${VAR:?message}` whose variable is unset or empty."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"required variable {name} is missing a value: {message}")
        self.name = name


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """One string with its ${...} resolved from `environ`."""

    def resolve(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        value = environ.get(name)
        missing = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in (":-", "-") and missing:
            return interpolate(arg, environ)
        if op in (":?", "?") and missing:
            raise MissingVariable(name, arg)
        return value or ""

    return _VARIABLE.sub(resolve, text)


def _walk(node: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, environ)
    if isinstance(node, dict):
        return {key: _walk(value, environ) for key, value in node.items()}
    if isinstance(node, list):
        return [_walk(value, environ) for value in node]
    return node


def load_raw(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The YAML as written (anchors and merge keys resolved, ${...} not)."""
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def load_compose(environ: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file with every ${...} resolved from `environ`."""
    resolved: dict[str, Any] = _walk(load_raw(path), environ)
    return resolved


@dataclass(frozen=True)
class Mount:
    """One entry of a service's `volumes`: a named volume or a bind of a host path."""

    source: str
    target: str
    read_only: bool

    @property
    def is_bind(self) -> bool:
        return self.source.startswith((".", "/", "~"))

    @classmethod
    def parse(cls, entry: str | dict[str, Any]) -> Mount:
        if isinstance(entry, dict):
            return cls(entry["source"], entry["target"], bool(entry.get("read_only")))
        parts = entry.split(":")
        return cls(parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(","))


@dataclass(frozen=True)
class Service:
    """One service of a loaded compose file."""

    name: str
    spec: dict[str, Any]

    @classmethod
    def of(cls, doc: dict[str, Any], name: str) -> Service:
        return cls(name, doc["services"][name])

    @property
    def command(self) -> list[str]:
        command = self.spec.get("command", [])
        return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]

    @property
    def environment(self) -> dict[str, str]:
        env = self.spec.get("environment", {})
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        return {key: "" if value is None else str(value) for key, value in env.items()}

    @property
    def mounts(self) -> list[Mount]:
        return [Mount.parse(entry) for entry in self.spec.get("volumes", [])]

    @property
    def depends_on(self) -> dict[str, str]:
        """{service: condition}"""
        deps = self.spec.get("depends_on", {})
        if isinstance(deps, list):
            return dict.fromkeys(deps, "service_started")
        return {name: spec.get("condition", "service_started") for name, spec in deps.items()}

    @property
    def one_shot(self) -> bool:
        return str(self.spec.get("restart", "no")) == "no"

    @property
    def profiles(self) -> list[str]:
        return list(self.spec.get("profiles", []))

    @property
    def healthcheck_argv(self) -> list[str] | None:
        test = self.spec.get("healthcheck", {}).get("test")
        if not test or test == ["NONE"]:
            return None
        if isinstance(test, str):
            return ["sh", "-c", test]
        if test[0] == "CMD-SHELL":
            return ["sh", "-c", " ".join(test[1:])]
        return [str(part) for part in test[1:]] if test[0] == "CMD" else [str(part) for part in test]

    def python_module(self) -> tuple[str, list[str]] | None:
        """(`module`, args) of the `python -m module ...` this service ends up running, if any."""
        words = self.command
        if words[:2] == ["sh", "-c"]:
            words = shlex.split(words[2].rsplit("exec ", 1)[-1])
        for start in range(len(words) - 2):
            if words[start] == "python" and words[start + 1] == "-m":
                return words[start + 2], words[start + 3 :]
        return None


def active_services(doc: dict[str, Any], profiles: tuple[str, ...] = ()) -> list[str]:
    """The services `docker compose [--profile P] up` starts."""
    names = []
    for name, spec in doc["services"].items():
        wanted = spec.get("profiles", [])
        if not wanted or set(wanted) & set(profiles):
            names.append(name)
    return names


def start_order(doc: dict[str, Any], names: list[str]) -> list[str]:
    """`names` ordered so every service comes after what it depends on."""
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in path:
            raise ValueError(f"dependency cycle: {' -> '.join((*path, name))}")
        for dependency in Service.of(doc, name).depends_on:
            visit(dependency, (*path, name))
        ordered.append(name)

    for name in names:
        visit(name, ())
    return ordered
