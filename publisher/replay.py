"""CSV replay files (the seed's columns) turned into samples; pure: text lines in, samples out.

A bad header raises :class:`BadFileError` (the replay cannot start). A bad data row becomes a
:class:`BadRow` naming the file and line, so the caller can skip it and carry on: one
garbled row should not stop a plant's replay.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from contract import PHYSICAL_BOUNDS
from publisher.sample import Sample

__all__ = ["COLUMNS", "BadFileError", "BadRow", "Row", "load_rows", "read_rows"]

# CSV column -> Sample field, in the order of the seed files.
COLUMNS: dict[str, str] = {
    "Identifier": "product_id",
    "Category": "type",
    "Air_Temp": "air_temp_k",
    "Process_Temp": "process_temp_k",
    "Rotational_Speed": "rotational_speed_rpm",
    "Torque": "torque_nm",
    "Tool_Life": "tool_wear_min",
    "Failure": "failure",
    "Failure_Description": "failure_description",
}
NUMBER_COLUMNS = ("Air_Temp", "Process_Temp", "Rotational_Speed", "Torque", "Tool_Life")
CATEGORIES = ("L", "M", "H")
MAX_IDENTIFIER, MAX_DESCRIPTION = 64, 256  # the contract's limits


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


def read_rows(lines: Iterable[str], source: str) -> Iterator[Row | BadRow]:
    """Parse the CSV text `lines` of file `source`: one Row or BadRow per non-blank data row."""
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise BadFileError(f"{source}:1: unreadable header ({exc})") from None
    positions = _header_positions(header, source)
    index = 0
    for record in _records(reader):
        if isinstance(record, list) and not any(value.strip() for value in record):
            continue  # blank lines carry nothing; not worth a warning
        try:
            if isinstance(record, str):
                raise ValueError(record)
            yield Row(index, reader.line_num, parse_fields(record, positions, len(header or ())))
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


def load_rows(lines: Iterable[str], source: str) -> tuple[list[Row], list[BadRow]]:
    """All good and bad rows of a file, for a replay that may loop over it."""
    good: list[Row] = []
    bad: list[BadRow] = []
    for item in read_rows(lines, source):
        (good if isinstance(item, Row) else bad).append(item)  # type: ignore[arg-type]
    return good, bad


def _header_positions(header: list[str] | None, source: str) -> dict[str, int]:
    if header is None:
        raise BadFileError(f"{source}:1: file is empty; expected a header with {', '.join(COLUMNS)}")
    names = [name.strip().lstrip("\ufeff") for name in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise BadFileError(f"{source}:1: header lacks {', '.join(missing)}; expected the columns {', '.join(COLUMNS)}")
    return {column: names.index(column) for column in COLUMNS}


def parse_fields(fields: list[str], positions: dict[str, int], width: int) -> Sample:
    """One data row as a Sample; ValueError says what is wrong with it."""
    if len(fields) != width:
        raise ValueError(f"expected {width} fields, found {len(fields)}")
    text = {column: fields[at].strip() for column, at in positions.items()}
    values: dict[str, object] = {COLUMNS[column]: _number(column, text[column]) for column in NUMBER_COLUMNS}
    return Sample(
        type=_category(text["Category"]),
        product_id=_optional_text("Identifier", text["Identifier"], MAX_IDENTIFIER),
        failure=_flag(text["Failure"]),
        failure_description=_optional_text("Failure_Description", text["Failure_Description"], MAX_DESCRIPTION),
        **values,  # type: ignore[arg-type]
    )


def _number(column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column} {text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{column} {text[:40]!r} is not a finite number")
    low, high = PHYSICAL_BOUNDS[COLUMNS[column]]
    if not low <= value <= high:
        raise ValueError(f"{column}={value:g} is outside the plausible range [{low:g}, {high:g}]")
    return value


def _category(text: str) -> str:
    if text not in CATEGORIES:
        raise ValueError(f"Category {text[:40]!r} must be one of {', '.join(CATEGORIES)}")
    return text


def _flag(text: str) -> int | None:
    if text == "":
        return None
    if text not in ("0", "1"):
        raise ValueError(f"Failure {text[:40]!r} must be 0 or 1")
    return int(text)


def _optional_text(column: str, text: str, max_len: int) -> str | None:
    if len(text) > max_len:
        raise ValueError(f"{column} is longer than {max_len} characters")
    return text or None
