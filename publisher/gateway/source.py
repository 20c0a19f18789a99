"""YAML files validated by pydantic, with every error reported as `FILE:LINE: field.path: message`.

The document is composed (not just loaded) so each value keeps the line it was written on; a
pydantic error's `loc` is mapped back to the deepest node it names.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from common.settings import ConfigError

__all__ = ["Located", "SourceError", "load_model", "parse", "validate"]

Model = TypeVar("Model", bound=BaseModel)
Loc = tuple[str | int, ...]


class SourceError(ConfigError):
    """One or more problems in a file; each line of the message names the file and line."""


class Located:
    """A parsed file's data plus the line of every key and value in it."""

    def __init__(self, path: Path, data: Any, lines: dict[Loc, int]) -> None:
        self.path = path
        self.data = data
        self._lines = lines

    def line(self, loc: Iterable[str | int]) -> int:
        """The line of the deepest node `loc` reaches (1 for the document itself)."""
        key = tuple(loc)
        while key and key not in self._lines:
            key = key[:-1]
        return self._lines.get(key, 1)

    def error(self, loc: Iterable[str | int], message: str) -> str:
        loc = tuple(loc)
        where = ".".join(str(part) for part in loc)
        return f"{self.path}:{self.line(loc)}: {where + ': ' if where else ''}{message}"

    def fail(self, problems: list[str]) -> SourceError:
        return SourceError("\n".join(problems))


def read(path: Path) -> Located:
    """Parse a YAML file keeping line numbers; SourceError for a missing file or bad YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return parse(text, path)


def parse(text: str, path: Path) -> Located:
    """Parse YAML `text` (said to come from `path`) keeping line numbers; SourceError for bad YAML."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourceError(f"{path}:{line}: not valid YAML: {problem}") from None
    lines: dict[Loc, int] = {}
    if node is not None:
        _collect(node, (), lines)
    return Located(path, data if data is not None else {}, lines)


def _collect(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*loc, int(key) if _is_int(key_node) else key)
            lines[child] = key_node.start_mark.line + 1
            _collect(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect(item, (*loc, index), lines)


def _is_int(node: yaml.Node) -> bool:
    return bool(node.tag == "tag:yaml.org,2002:int")


def load_model(path: Path, model: type[Model]) -> tuple[Model, Located]:
    """Parse and validate `path` as `model`; SourceError lists every problem with its line."""
    located = read(path)
    return validate(located, model), located


def validate(located: Located, model: type[Model]) -> Model:
    """`located`'s data as `model`; SourceError lists every problem with its line."""
    try:
        return model.model_validate(located.data)
    except ValidationError as exc:
        raise located.fail([located.error(_loc(e["loc"]), e["msg"]) for e in exc.errors()]) from None


def _loc(loc: tuple[int | str, ...]) -> Loc:
    # pydantic adds the validator's name for unions and tagged models ("function-after[...]"): skip them.
    return tuple(part for part in loc if not (isinstance(part, str) and ("[" in part or part.startswith("function"))))
