"""YAML files validated by pydantic, with every error reported as `FILE:LINE: field.path: message`.

The document is composed (not just loaded) so each value keeps the line it was written on
(contract/yaml_marks.py, shared with the machine profiles); a pydantic error's `loc` is mapped
back to the deepest node it names.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from common.settings import ConfigError
from contract.yaml_marks import MarkedDocument, YamlError

__all__ = ["Located", "SourceError", "load_model", "parse", "validate"]

Model = TypeVar("Model", bound=BaseModel)
Loc = tuple[str | int, ...]


class SourceError(ConfigError):
    """One or more problems in a file; each line of the message names the file and line."""


class Located:
    """A parsed file's data plus where each key and value was written (contract/yaml_marks.py)."""

    def __init__(self, path: Path, data: Any, document: MarkedDocument) -> None:
        self.path = path
        self.data = data
        self._document = document

    def line(self, loc: Iterable[str | int]) -> int:
        """The line of the deepest node `loc` reaches (1 for the document itself)."""
        line, _ = self._document.locate(tuple(loc))
        return line or 1

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
        document = MarkedDocument.parse(text)
    except YamlError as exc:
        raise SourceError(f"{path}:{exc.line or 1}: not valid YAML: {exc.problem}") from None
    return Located(path, document.data if document.data is not None else {}, document)


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
