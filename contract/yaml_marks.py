"""YAML documents that remember where each value was written, for one-line errors.

PyYAML composes a document into nodes that carry their position (marks) before it builds
Python values from them; keeping the nodes lets an error found later (by pydantic) name the
line it comes from::

    document = MarkedDocument.parse(text)
    document.data                                   # plain dicts, lists, scalars
    document.locate(("fields", 2, "min"))           # (12, "fields[2].min")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["MarkedDocument", "YamlError"]


class YamlError(ValueError):
    """Text that is not a single, well-formed YAML document; `problem` is PyYAML's words."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class MarkedDocument:
    """A YAML document as plain data plus its node tree (with line numbers)."""

    data: Any
    root: yaml.Node | None

    @classmethod
    def parse(cls, text: str) -> MarkedDocument:
        """The document (data None and no root when the text is empty); YamlError when it is not YAML."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            if root is None:
                return cls(None, None)
            _refuse_duplicate_keys(root)
            loader = yaml.SafeLoader("")
            try:
                data = loader.construct_document(root)
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = " ".join(str(exc.problem or exc.context or "not a YAML document").split())
            raise YamlError(mark.line + 1 if mark else None, problem) from None
        except yaml.YAMLError as exc:
            raise YamlError(None, " ".join(str(exc).split())) from None
        return cls(data, root)

    def locate(self, path: Sequence[str | int]) -> tuple[int | None, str]:
        """The line of the deepest node on `path` that exists, and the path as text.

        Parts of `path` the document does not have (pydantic's union tags) are skipped; a
        missing key is reported on the line of the mapping that lacks it.
        """
        node, line, shown = self.root, _line(self.root), ""
        for i, part in enumerate(path):
            child, key_line = _child(node, part)
            if child is None:
                if _is_tag(part) or (i + 1 < len(path) and _child(node, path[i + 1])[0] is not None):
                    continue  # a union member's tag, not a key of the document
                if isinstance(part, str):
                    shown += f".{part}" if shown else part
                break
            shown += f"[{part}]" if isinstance(part, int) else (f".{part}" if shown else part)
            line = key_line or _line(child)
            node = child
        return line, shown


_TAGS = frozenset({"sensor", "counter", "category", "text", "float", "int", "str", "bool", "none"})


def _is_tag(part: str | int) -> bool:
    """Names pydantic puts in an error's location for a union member, not a document key."""
    return isinstance(part, str) and (part in _TAGS or part[:1].isupper() or "[" in part)


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _child(node: yaml.Node | None, part: str | int) -> tuple[yaml.Node | None, int | None]:
    """The child at `part` and the line of its key (mappings), or (None, None)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:  # an integer part also names an integer key (a register address)
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value, key.start_mark.line + 1
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part], None
    return None, None


def _refuse_duplicate_keys(node: yaml.Node) -> None:
    """PyYAML keeps the last of two equal keys silently; a profile with one is a mistake."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise yaml.MarkedYAMLError(problem=f"key {key.value!r} appears twice", problem_mark=key.start_mark)
                seen.add(key.value)
            _refuse_duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item)
