"""CSV replay files of a profile turned into samples; pure: text lines in, samples out.

A file has a column per field of the profile (the profile's ``csv_columns`` name them, e.g.
the AI4I files' "Torque"; ``--map COLUMN=field,...`` maps any other file's), plus optional
failure and failure-description columns. A bad header raises :class:`BadFileError` (the
replay cannot start). A bad data row becomes a :class:`BadRow` naming the file and line, so
the caller can skip it and carry on: one garbled row should not stop a plant's replay.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from contract import Profile, default_profile
from contract.columns import ColumnMapError, column_map, declared_columns
from contract.profiles import CategoryField, SensorField
from contract.readings import MAX_DESCRIPTION
from publisher.sample import Sample

__all__ = ["BadFileError", "BadRow", "ReplayFormat", "Row", "load_rows", "read_rows"]


class BadFileError(ValueError):
    """The file cannot be replayed at all (empty, wrong header); the message names it."""


@dataclass(frozen=True, slots=True)
class Row:
    """A good data row: its position among the data rows (0-based), its line and its sample."""

    index: int
    line: int
    sample: Sample


@dataclass(frozen=True, slots=True)
class BadRow:
    """A data row that was skipped, and why."""

    index: int
    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


class ReplayFormat:
    """Which CSV column holds which field of a profile, and how each is checked."""

    def __init__(self, profile: Profile | None = None, mapping: Mapping[str, str] | None = None) -> None:
        self.profile = profile or default_profile()
        try:
            self.columns = column_map(self.profile, mapping)  # field -> CSV column
            self.required = declared_columns(self.profile, mapping)
        except ColumnMapError as exc:
            raise BadFileError(str(exc)) from None

    def positions(self, header: list[str] | None, source: str) -> dict[str, int]:
        """Field -> position in the header, for the fields the file has; BadFileError when it lacks one."""
        expected = ", ".join(self.required)
        if header is None:
            raise BadFileError(f"{source}:1: file is empty; expected a header with {expected}")
        names = [name.strip().lstrip("\ufeff") for name in header]
        missing = [column for column in self.required if column not in names]
        if missing:
            raise BadFileError(f"{source}:1: header lacks {', '.join(missing)}; expected the columns {expected}")
        return {target: names.index(column) for target, column in self.columns.items() if column in names}

    def sample(self, fields: list[str], positions: dict[str, int], width: int) -> Sample:
        """One data row as a Sample; ValueError says what is wrong with it."""
        if len(fields) != width:
            raise ValueError(f"expected {width} fields, found {len(fields)}")
        text = {target: fields[at].strip() for target, at in positions.items()}
        values: dict[str, float | str] = {}
        for item in self.profile.numeric_fields:
            if item.name in text and (text[item.name] or item.required):
                values[item.name] = _number(self.columns[item.name], text[item.name], item)
        for category in self.profile.category_fields:
            if category.name in text and (text[category.name] or category.required):
                values[category.name] = _category(self.columns[category.name], text[category.name], category)
        for free in self.profile.text_fields:
            found = _optional_text(self.columns[free.name], text.get(free.name, ""), free.max_length)
            if found is not None:
                values[free.name] = found
        description = self.columns["failure_description"]
        return Sample(
            values,
            failure=_flag(self.columns["failure"], text.get("failure", "")),
            failure_description=_optional_text(description, text.get("failure_description", ""), MAX_DESCRIPTION),
        )


def read_rows(lines: Iterable[str], source: str, form: ReplayFormat | None = None) -> Iterator[Row | BadRow]:
    """Parse the CSV text `lines` of file `source`: one Row or BadRow per non-blank data row."""
    form = form or ReplayFormat()
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise BadFileError(f"{source}:1: unreadable header ({exc})") from None
    positions = form.positions(header, source)
    index = 0
    for record in _records(reader):
        if isinstance(record, list) and not any(value.strip() for value in record):
            continue  # blank lines carry nothing; not worth a warning
        try:
            if isinstance(record, str):
                raise ValueError(record)
            yield Row(index, reader.line_num, form.sample(record, positions, len(header or ())))
        except ValueError as exc:
            yield BadRow(index, source, reader.line_num, str(exc))
        index += 1


def _records(reader: Iterator[list[str]]) -> Iterator[list[str] | str]:
    """Each record's fields, or the csv module's complaint about it (it carries on after one)."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over csv's size limit
            yield f"unreadable row ({exc})"


def load_rows(lines: Iterable[str], source: str, form: ReplayFormat | None = None) -> tuple[list[Row], list[BadRow]]:
    """All good and bad rows of a file, for a replay that may loop over it."""
    good: list[Row] = []
    bad: list[BadRow] = []
    for item in read_rows(lines, source, form):
        (good if isinstance(item, Row) else bad).append(item)  # type: ignore[arg-type]
    return good, bad


def _number(column: str, text: str, item: SensorField) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column} {text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{column} {text[:40]!r} is not a finite number")
    low, high = item.min, item.max
    if not low <= value <= high:
        raise ValueError(f"{column}={value:g} is outside the plausible range [{low:g}, {high:g}]")
    return value


def _category(column: str, text: str, item: CategoryField) -> str:
    if text not in item.values:
        raise ValueError(f"{column} {text[:40]!r} must be one of {', '.join(item.values)}")
    return text


def _flag(column: str, text: str) -> int | None:
    if text == "":
        return None
    if text not in ("0", "1"):
        raise ValueError(f"{column} {text[:40]!r} must be 0 or 1")
    return int(text)


def _optional_text(column: str, text: str, max_len: int) -> str | None:
    if len(text) > max_len:
        raise ValueError(f"{column} is longer than {max_len} characters")
    return text or None
