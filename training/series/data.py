"""Machine histories from a CSV in a profile's columns: rows grouped by machine, in order.

A file holds readings of several machines (a machine column) ordered by one of the
profile's fields (``model.order``, e.g. the cycle). The truth for a RUL model, in the
order field's unit, comes from the first of:

1. a ``rul`` column (e.g. test engines cut before failure, with their true RUL);
2. a failure column (0/1): each machine's history must end in its failure;
3. neither: every history runs to failure (the C-MAPSS convention), its last row the failure.

Bad files raise :class:`DataError`, one line naming the file (and the line when one row
is to blame).
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from training.series.profile import MACHINE_COLUMN, SeriesProfile

__all__ = ["RUL_COLUMN", "DataError", "Histories", "load_histories", "parse_histories"]

RUL_COLUMN = "rul"
FAILURE = "failure"
_HEADER_LINES = 1


class DataError(Exception):
    """A data file that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class Histories:
    """Readings grouped by machine and ordered within each: the model inputs and the truth."""

    machines: np.ndarray  # (rows,) machine ids as strings
    order: np.ndarray  # (rows,) the order field
    values: np.ndarray  # (rows, inputs) float64, in the profile's input order
    rul: np.ndarray | None  # (rows,) remaining life in order units, when known
    rul_source: str  # how the truth was found (see the module docstring)
    source: str = ""
    sha256: str = ""

    def __len__(self) -> int:
        return len(self.machines)

    @property
    def ids(self) -> list[str]:
        """Machine ids in file order."""
        return list(dict.fromkeys(self.machines.tolist()))

    def spans(self) -> list[tuple[str, slice]]:
        """(machine, rows) per machine."""
        breaks = np.flatnonzero(self.machines[1:] != self.machines[:-1]) + 1
        bounds = [0, *breaks.tolist(), len(self)]
        return [(str(self.machines[a]), slice(a, b)) for a, b in itertools.pairwise(bounds)]

    def take(self, rows: np.ndarray) -> Histories:
        """These rows (kept grouped and ordered when `rows` is)."""
        rul = None if self.rul is None else self.rul[rows]
        return replace(self, machines=self.machines[rows], order=self.order[rows], values=self.values[rows], rul=rul)

    def of_machines(self, ids: set[str] | list[str]) -> Histories:
        return self.take(np.flatnonzero(np.isin(self.machines, list(ids))))


def load_histories(path: Path, profile: SeriesProfile, mapping: Mapping[str, str] | None = None) -> Histories:
    """Read and validate a CSV file (DataError names the file and line)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    histories = parse_histories(data, str(path), profile, mapping)
    return replace(histories, sha256=hashlib.sha256(data).hexdigest())


def parse_histories(
    data: bytes, source: str, profile: SeriesProfile, mapping: Mapping[str, str] | None = None
) -> Histories:
    """Validate CSV bytes read from `source` against the profile's inputs and order field."""
    frame = _read_csv(data, source)
    columns = _columns(profile, mapping)
    needed = {MACHINE_COLUMN: columns[MACHINE_COLUMN], **{f: columns[f] for f in (profile.order, *profile.inputs)}}
    missing = [column for column in needed.values() if column not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)} that profile {profile.id} needs "
            f"(map other names with --map COLUMN=field)"
        )
    if frame.empty:
        raise DataError(f"{source}: no data rows")
    numbers = {name: _numbers(frame[column], column, profile, name, source) for name, column in needed.items()}
    machines = frame[needed[MACHINE_COLUMN]].str.strip().to_numpy(dtype=str)
    order = numbers[profile.order]
    rows = _grouped_order(machines, order, source)
    values = np.column_stack([numbers[name] for name in profile.inputs])[rows]
    machines, order = machines[rows], order[rows]
    rul, how = _truth(frame, columns, machines=machines, order=order, rows=rows, source=source)
    return Histories(machines, order, values, rul, how, source)


def _read_csv(data: bytes, source: str) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{source}: file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{source}: not a valid CSV ({' '.join(str(exc).split())})") from None


def _columns(profile: SeriesProfile, mapping: Mapping[str, str] | None) -> dict[str, str]:
    """{field, machine_id or failure: CSV column}; a name no map mentions is its own column."""
    chosen = dict(profile.csv_columns if mapping is None else mapping)
    targets = {f.name for f in profile.fields} | {MACHINE_COLUMN, FAILURE}
    unknown = sorted(set(chosen.values()) - targets)
    if unknown:
        raise DataError(f"--map names {', '.join(unknown)}: not fields of profile {profile.id} (or {MACHINE_COLUMN})")
    by_target = {target: column for column, target in chosen.items()}
    return {target: by_target.get(target, target) for target in targets}


def _line(row: int) -> int:
    return row + _HEADER_LINES + 1


def _numbers(column: pd.Series, name: str, profile: SeriesProfile, field: str, source: str) -> np.ndarray:
    text = column.str.strip()
    if field == MACHINE_COLUMN:
        empty = (text == "").to_numpy()
        if empty.any():
            raise DataError(f"{source}, line {_line(int(np.argmax(empty)))}: {name} (the machine) is empty")
        return np.zeros(len(column))
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        row = int(np.argmin(finite))
        shown = f"{name} {text.iloc[row]!r} is not a number" if text.iloc[row] else f"{name} is missing"
        raise DataError(f"{source}, line {_line(row)}: {shown}")
    bounds = profile.numeric(field)
    outside = (values < bounds.min) | (values > bounds.max)
    if outside.any():
        row = int(np.argmax(outside))
        raise DataError(
            f"{source}, line {_line(row)}: {name} {text.iloc[row]} is outside [{bounds.min:g}, {bounds.max:g}]"
        )
    return np.asarray(values)


def _grouped_order(machines: np.ndarray, order: np.ndarray, source: str) -> np.ndarray:
    """Row indices grouped by machine (first appearance first), ordered within each."""
    first_seen = {machine: i for i, machine in reversed(list(enumerate(machines.tolist())))}
    rank = np.array([first_seen[m] for m in machines.tolist()])
    rows = np.lexsort((order, rank))
    same = (machines[rows][1:] == machines[rows][:-1]) & (order[rows][1:] == order[rows][:-1])
    if same.any():
        row = int(rows[1:][np.argmax(same)])
        raise DataError(f"{source}, line {_line(row)}: machine {machines[row]} has two readings at {order[row]:g}")
    return np.asarray(rows)


def _truth(
    frame: pd.DataFrame,
    columns: dict[str, str],
    *,
    machines: np.ndarray,
    order: np.ndarray,
    rows: np.ndarray,
    source: str,
) -> tuple[np.ndarray, str]:
    """The remaining life of every (grouped, ordered) row, and where it came from."""
    starts = np.r_[0, np.flatnonzero(machines[1:] != machines[:-1]) + 1]
    ends = np.r_[starts[1:], len(machines)] - 1
    if RUL_COLUMN in frame.columns:
        rul = pd.to_numeric(frame[RUL_COLUMN].str.strip(), errors="coerce").to_numpy(dtype=np.float64)[rows]
        bad = ~np.isfinite(rul) | (rul < 0)
        if bad.any():
            row = int(rows[np.argmax(bad)])
            raise DataError(f"{source}, line {_line(row)}: {RUL_COLUMN} must be a number >= 0")
        return rul, f"the {RUL_COLUMN} column"
    last_order = np.repeat(order[ends], ends - starts + 1)
    failure = columns[FAILURE]
    if failure in frame.columns:
        flags = frame[failure].str.strip().to_numpy()[rows]
        _check_failures(flags, machines, rows, column=failure, source=source)
        return last_order - order, f"the {failure} column (each history ends in its failure)"
    return last_order - order, "run-to-failure histories (no rul or failure column: each machine's last row fails)"


def _check_failures(flags: np.ndarray, machines: np.ndarray, rows: np.ndarray, *, column: str, source: str) -> None:
    starts = np.r_[0, np.flatnonzero(machines[1:] != machines[:-1]) + 1]
    ends = np.r_[starts[1:], len(machines)] - 1
    bad = ~np.isin(flags, ["0", "1"])
    if bad.any():
        raise DataError(f"{source}, line {_line(int(rows[np.argmax(bad)]))}: {column} must be 0 or 1")
    for start, end in zip(starts, ends, strict=True):
        if flags[end] != "1":
            raise DataError(
                f"{source}: machine {machines[end]} does not fail at its last reading ({column} is 0): "
                f"a RUL model learns from run-to-failure histories (or give a {RUL_COLUMN} column)"
            )
        early = np.flatnonzero(flags[start:end] == "1")
        if early.size:
            raise DataError(
                f"{source}, line {_line(int(rows[start + early[0]]))}: machine {machines[end]} fails before its "
                f"last reading: one life per machine (give each life its own machine id)"
            )
