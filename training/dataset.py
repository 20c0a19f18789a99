"""Seed CSVs (AI4I 2020 in the project's column names) as arrays and labels.

Labels, decided once here:

* ``failure`` is the Failure column (0/1): the truth every metric is computed on.
* ``mode`` is the classifier's target: ``"none"`` when Failure = 0, otherwise the first
  mode named in Failure_Description (TWF, HDF, PWF, OSF, RNF).
* Failure = 0 rows that say "Random Failure" are ``"none"``: the machine did not fail,
  and a random failure cannot be told from the readings anyway.
* Failure = 1 rows that say "Unspecified Failure" get mode ``"UNK"``. They count as
  failures in every metric, but training leaves them out (see training.modelling).
* ``mode_flags`` marks every mode a failure row names, for per-mode recall.

A bad file or row raises :class:`DatasetError` naming the file and the line.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from contract import PHYSICAL_BOUNDS
from model.artifact import NO_FAILURE
from model.engineering import TYPE_CODES

__all__ = [
    "COLUMNS",
    "MODES",
    "UNSPECIFIED",
    "DataFile",
    "Dataset",
    "DatasetError",
    "load_dataset",
    "parse_csv",
    "parse_frame",
]

COLUMNS = (
    "Identifier",
    "Category",
    "Air_Temp",
    "Process_Temp",
    "Rotational_Speed",
    "Torque",
    "Tool_Life",
    "Failure",
    "Failure_Description",
)
# CSV column -> contract field, in RAW_COLUMNS order after the type code.
NUMERIC_COLUMNS = {
    "Air_Temp": "air_temp_k",
    "Process_Temp": "process_temp_k",
    "Rotational_Speed": "rotational_speed_rpm",
    "Torque": "torque_nm",
    "Tool_Life": "tool_wear_min",
}
UNSPECIFIED = "UNK"
MODE_NAMES = {
    "Tool Wear Failure": "TWF",
    "Heat Dissipation Failure": "HDF",
    "Power Failure": "PWF",
    "Overstrain Failure": "OSF",
    "Random Failure": "RNF",
    "Unspecified Failure": UNSPECIFIED,
}
MODES: tuple[str, ...] = tuple(MODE_NAMES.values())
NO_FAILURE_TEXT = "No Failure"
_HEADER_LINES = 1


class DatasetError(Exception):
    """A data file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class DataFile:
    """Provenance of one loaded file."""

    path: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class Dataset:
    """Rows as arrays: raw features, failure truth, target mode and mode flags."""

    raw: np.ndarray
    failure: np.ndarray
    mode: np.ndarray
    mode_flags: np.ndarray
    files: tuple[DataFile, ...] = ()

    def __len__(self) -> int:
        return len(self.failure)

    def subset(self, index: np.ndarray) -> Dataset:
        """The rows at `index` (or where a boolean mask is true)."""
        return Dataset(self.raw[index], self.failure[index], self.mode[index], self.mode_flags[index], self.files)


def load_dataset(paths: Sequence[Path]) -> Dataset:
    """Read and validate CSV files in the seed's columns, concatenated in order."""
    if not paths:
        raise DatasetError("no data files given")
    parts = [_load_file(Path(path)) for path in paths]
    return Dataset(
        raw=np.concatenate([p.raw for p in parts]),
        failure=np.concatenate([p.failure for p in parts]),
        mode=np.concatenate([p.mode for p in parts]),
        mode_flags=np.concatenate([p.mode_flags for p in parts]),
        files=tuple(f for p in parts for f in p.files),
    )


def _load_file(path: Path) -> Dataset:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
    part = parse_csv(data, str(path))
    source = DataFile(_display(path), hashlib.sha256(data).hexdigest(), len(part))
    return Dataset(part.raw, part.failure, part.mode, part.mode_flags, (source,))


def parse_csv(data: bytes, source: str) -> Dataset:
    """Validate CSV bytes read from `source` (named in errors) and turn them into arrays."""
    return parse_frame(_read_csv(data, source), source)


def _display(path: Path) -> str:
    """`path` relative to the working directory when inside it, so cards stay portable."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_csv(data: bytes, source: str) -> pd.DataFrame:
    try:
        # Blank lines are kept (and then refused) so row i is always line i + 2.
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{source}: file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        message = " ".join(str(exc).split())
        raise DatasetError(f"{source}: not a valid CSV ({message})") from None


def parse_frame(frame: pd.DataFrame, source: str) -> Dataset:
    """Validate a frame of strings read from `source` and turn it into arrays."""
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise DatasetError(f"{source}: missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise DatasetError(f"{source}: no data rows")
    frame = frame.reset_index(drop=True).fillna("")  # short rows leave NaN behind
    blank = (frame[list(COLUMNS)].apply(lambda column: column.str.strip()) == "").all(axis=1).to_numpy()
    if blank.any():
        raise _fail(source, int(np.argmax(blank)), "empty line")
    type_codes = _type_codes(frame["Category"], source)
    numbers = [_numbers(frame[column], column, field, source) for column, field in NUMERIC_COLUMNS.items()]
    failure = _failure(frame["Failure"], source)
    flags, mode = _modes(frame["Failure_Description"], failure, source)
    raw = np.column_stack([type_codes, *numbers]).astype(np.float64)
    return Dataset(raw, failure, mode, flags)


def _line(row: int) -> int:
    return row + _HEADER_LINES + 1


def _fail(source: str, row: int, message: str) -> DatasetError:
    return DatasetError(f"{source}, line {_line(row)}: {message}")


def _type_codes(column: pd.Series, source: str) -> np.ndarray:
    text = column.str.strip()
    bad = ~text.isin(list(TYPE_CODES))
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise _fail(source, row, f"Category {column[row]!r} is not one of {', '.join(TYPE_CODES)}")
    return np.asarray(text.map(TYPE_CODES).to_numpy(dtype=np.float64))


def _numbers(column: pd.Series, name: str, field: str, source: str) -> np.ndarray:
    values = pd.to_numeric(column.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    low, high = PHYSICAL_BOUNDS[field]
    finite = np.isfinite(values)
    if not finite.all():
        row = int(np.argmin(finite))
        text = column[row].strip()
        raise _fail(source, row, f"{name} {text!r} is not a number" if text else f"{name} is missing")
    outside = (values < low) | (values > high)
    if outside.any():
        row = int(np.argmax(outside))
        raise _fail(source, row, f"{name} {column[row]} is outside [{low:g}, {high:g}]")
    return np.asarray(values)


def _failure(column: pd.Series, source: str) -> np.ndarray:
    text = column.str.strip()
    bad = ~text.isin(["0", "1"])
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise _fail(source, row, f"Failure {column[row]!r} must be 0 or 1")
    return np.asarray((text == "1").to_numpy(dtype=np.int8))


def _modes(column: pd.Series, failure: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    flags = np.zeros((len(column), len(MODES)), dtype=bool)
    mode = np.full(len(column), NO_FAILURE, dtype=object)
    for row, text in enumerate(column):
        codes = _codes(text, bool(failure[row]), source, row)
        flags[row, [MODES.index(code) for code in codes]] = True
        if failure[row]:
            mode[row] = codes[0]
    return flags, mode


def _codes(text: str, failed: bool, source: str, row: int) -> list[str]:
    text = text.strip()
    if text == NO_FAILURE_TEXT:
        if failed:
            raise _fail(source, row, f"Failure is 1 but Failure_Description is {NO_FAILURE_TEXT!r}")
        return []
    names = [name.strip() for name in text.split(";")]
    unknown = [name for name in names if name not in MODE_NAMES]
    if unknown:
        raise _fail(source, row, f"unknown failure mode {unknown[0]!r} in Failure_Description")
    codes = [MODE_NAMES[name] for name in names]
    if not failed and codes != ["RNF"]:
        raise _fail(source, row, f"Failure is 0 but Failure_Description is {text!r}")
    return codes
