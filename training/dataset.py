"""Training CSVs of a machine profile as arrays and labels.

A file has a column per field of the profile (named like the field, or mapped: the
profile's ``csv_columns`` by default, ``--map COLUMN=field,...`` to override), a
``failure`` column (0/1) and, to tell modes apart, a ``failure_description`` column. The AI4I
files in data/ use the AI4I column names, which the ai4i-mill profile maps.

Labels, decided once here:

* ``failure`` is the failure column (0/1): the truth every metric is computed on.
* ``mode`` is the classifier's target: ``"none"`` when failure = 0, otherwise the first
  mode named in the description (by name, e.g. "Power Failure", or by code, e.g. PWF).
  Without a description column, a failure is the profile's only failure mode.
* failure = 0 rows naming only random modes (the profile marks them; AI4I's "Random
  Failure") are ``"none"``: the machine did not fail, and a random failure cannot be told
  from the readings anyway.
* failure = 1 rows whose description is one of the profile's ``model.labels.unspecified``
  ("Unspecified Failure") get mode ``"UNK"``. They count as failures in every metric, but
  training leaves them out (see training.modelling).
* ``mode_flags`` marks every mode a failure row names, for per-mode recall.

A bad file or row raises :class:`DatasetError` naming the file, the line and the column.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from contract import Profile, columns, default_profile
from contract.profiles import CategoryField, SensorField
from model.artifact import NO_FAILURE
from model.engineering import feature_spec

__all__ = [
    "UNSPECIFIED",
    "DataFile",
    "Dataset",
    "DatasetError",
    "column_map",
    "load_dataset",
    "parse_csv",
    "parse_frame",
    "parse_map",
]

UNSPECIFIED = "UNK"
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
    """Rows as arrays: raw features (the profile's raw columns), failure truth, target mode and mode flags."""

    raw: np.ndarray
    failure: np.ndarray
    mode: np.ndarray
    mode_flags: np.ndarray
    files: tuple[DataFile, ...] = ()
    modes: tuple[str, ...] = field(default=())  # the columns of mode_flags

    def __len__(self) -> int:
        return len(self.failure)

    def subset(self, index: np.ndarray) -> Dataset:
        """The rows at `index` (or where a boolean mask is true)."""
        return Dataset(
            self.raw[index], self.failure[index], self.mode[index], self.mode_flags[index], self.files, self.modes
        )


def modes_of(profile: Profile) -> tuple[str, ...]:
    """The mode codes a dataset of `profile` can name, the unspecified one last."""
    return (*profile.mode_codes, UNSPECIFIED)


def parse_map(text: str) -> dict[str, str]:
    """'Vib=vibration_mm_s,Temp=bearing_temp_c' as {CSV column: field}; DatasetError when malformed."""
    try:
        return columns.parse_map(text)
    except columns.ColumnMapError as exc:
        raise DatasetError(str(exc)) from None


def column_map(profile: Profile, mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """{field or failure/failure_description: CSV column}, from `mapping` or the profile's csv_columns."""
    try:
        return columns.column_map(profile, mapping)
    except columns.ColumnMapError as exc:
        raise DatasetError(str(exc)) from None


def load_dataset(
    paths: Sequence[Path], profile: Profile | None = None, mapping: Mapping[str, str] | None = None
) -> Dataset:
    """Read and validate CSV files of `profile` (default: the default profile), concatenated in order."""
    if not paths:
        raise DatasetError("no data files given")
    profile = profile or default_profile()
    parts = [_load_file(Path(path), profile, mapping) for path in paths]
    return Dataset(
        raw=np.concatenate([p.raw for p in parts]),
        failure=np.concatenate([p.failure for p in parts]),
        mode=np.concatenate([p.mode for p in parts]),
        mode_flags=np.concatenate([p.mode_flags for p in parts]),
        files=tuple(f for p in parts for f in p.files),
        modes=parts[0].modes,
    )


def _load_file(path: Path, profile: Profile, mapping: Mapping[str, str] | None) -> Dataset:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
    part = parse_csv(data, str(path), profile, mapping)
    source = DataFile(_display(path), hashlib.sha256(data).hexdigest(), len(part))
    return Dataset(part.raw, part.failure, part.mode, part.mode_flags, (source,), part.modes)


def parse_csv(
    data: bytes, source: str, profile: Profile | None = None, mapping: Mapping[str, str] | None = None
) -> Dataset:
    """Validate CSV bytes read from `source` (named in errors) and turn them into arrays."""
    return parse_frame(_read_csv(data, source), source, profile, mapping)


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


def parse_frame(
    frame: pd.DataFrame, source: str, profile: Profile | None = None, mapping: Mapping[str, str] | None = None
) -> Dataset:
    """Validate a frame of strings read from `source` and turn it into arrays."""
    profile = profile or default_profile()
    names = column_map(profile, mapping)
    needed = [*columns.declared_columns(profile, mapping), names["failure"]]
    missing = [column for column in dict.fromkeys(needed) if column not in frame.columns]
    if missing:
        raise DatasetError(f"{source}: missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise DatasetError(f"{source}: no data rows")
    frame = frame.reset_index(drop=True).fillna("")  # short rows leave NaN behind
    present = [column for column in names.values() if column in frame.columns]
    blank = (frame[present].apply(lambda column: column.str.strip()) == "").all(axis=1).to_numpy()
    if blank.any():
        raise _fail(source, int(np.argmax(blank)), "empty line")
    spec = feature_spec(profile)
    codes = [_category_codes(frame, names[c.name], c, source) for c in spec.categories]
    numbers = [_numbers(frame, names[f.name], f, source) for f in profile.numeric_fields]
    failure = _failure(frame[names["failure"]], names["failure"], source)
    description = names["failure_description"]
    labels = _Labels(profile, names["failure"], description, source)
    flags, mode = _modes(frame[description] if description in frame.columns else None, failure, labels)
    raw = np.column_stack([*codes, *numbers]).astype(np.float64).reshape(len(frame), len(spec.raw_columns))
    return Dataset(raw, failure, mode, flags, modes=modes_of(profile))


def _line(row: int) -> int:
    return row + _HEADER_LINES + 1


def _fail(source: str, row: int, message: str) -> DatasetError:
    return DatasetError(f"{source}, line {_line(row)}: {message}")


def _category_codes(frame: pd.DataFrame, column: str, item: CategoryField, source: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    text = frame[column].str.strip()
    codes = {value: float(i) for i, value in enumerate(item.values)}
    bad = ~text.isin(list(codes)) & ~((text == "") & (not item.required))
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise _fail(source, row, f"{column} {frame[column][row]!r} is not one of {', '.join(item.values)}")
    return np.asarray(text.map(codes).to_numpy(dtype=np.float64))


def _numbers(frame: pd.DataFrame, column: str, item: SensorField, source: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    raw_text = frame[column]
    values = pd.to_numeric(raw_text.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    finite = np.isfinite(values) | ((raw_text.str.strip() == "").to_numpy() & (not item.required))
    if not finite.all():
        row = int(np.argmin(finite))
        text = raw_text[row].strip()
        raise _fail(source, row, f"{column} {text!r} is not a number" if text else f"{column} is missing")
    outside = (values < item.min) | (values > item.max)
    if outside.any():
        row = int(np.argmax(outside))
        raise _fail(source, row, f"{column} {raw_text[row]} is outside [{item.min:g}, {item.max:g}]")
    return np.asarray(values)


def _failure(column: pd.Series, name: str, source: str) -> np.ndarray:
    text = column.str.strip()
    bad = ~text.isin(["0", "1"])
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise _fail(source, row, f"{name} {column[row]!r} must be 0 or 1")
    return np.asarray((text == "1").to_numpy(dtype=np.int8))


class _Labels:
    """How one file names outcomes: the profile's modes and labels, the file's column names."""

    def __init__(self, profile: Profile, failure_column: str, description_column: str, source: str) -> None:
        self.modes = modes_of(profile)
        self.names = {m.name: m.code for m in profile.failure_modes} | {m.code: m.code for m in profile.failure_modes}
        self.names |= dict.fromkeys(profile.model.labels.unspecified, UNSPECIFIED)
        self.random = {m.code for m in profile.failure_modes if m.random}
        self.only = [m.code for m in profile.failure_modes if not m.random]
        self.no_failure = profile.model.labels.no_failure
        self.failure_column, self.description_column, self.source = failure_column, description_column, source

    def codes(self, text: str, failed: bool, row: int) -> list[str]:
        """The mode codes a row's description names (validated against its failure flag)."""
        text = text.strip()
        said = f"{self.failure_column} is {int(failed)} but {self.description_column} is"
        if text in (self.no_failure, ""):
            if failed:
                raise _fail(self.source, row, f"{said} {text or self.no_failure!r}")
            return []
        parts = [name.strip() for name in text.split(";")]
        unknown = [name for name in parts if name not in self.names]
        if unknown:
            raise _fail(self.source, row, f"unknown failure mode {unknown[0]!r} in {self.description_column}")
        codes = [self.names[name] for name in parts]
        if not failed and not set(codes) <= self.random:
            raise _fail(self.source, row, f"{said} {text!r}")
        return codes


def _modes(column: pd.Series | None, failure: np.ndarray, labels: _Labels) -> tuple[np.ndarray, np.ndarray]:
    flags = np.zeros((len(failure), len(labels.modes)), dtype=bool)
    mode = np.full(len(failure), NO_FAILURE, dtype=object)
    for row in range(len(failure)):
        failed = bool(failure[row])
        if column is None:
            if failed and len(labels.only) != 1:
                message = f"a {labels.description_column} column is needed to tell the failure modes apart"
                raise _fail(labels.source, row, message)
            codes = labels.only if failed else []
        else:
            codes = labels.codes(column[row], failed, row)
        flags[row, [labels.modes.index(code) for code in codes]] = True
        if failed:
            mode[row] = codes[0]
    return flags, mode
