"""Where samples come from: a replay file (opened here, parsed by publisher.replay) or the simulator."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from common.settings import ConfigError
from contract import Profile
from publisher.replay import BadFileError, BadRow, ReplayFormat, Row, load_rows
from publisher.service import Sourced
from publisher.simulation import SimulationError, Simulator

__all__ = ["replay_items", "simulated_items", "write_csv"]


def replay_items(
    path: Path, start_row: int = 0, loop: bool = False, form: ReplayFormat | None = None
) -> tuple[Iterator[Sourced], list[BadRow]]:
    """The file's good rows from data row `start_row` (0-based), endlessly if `loop`; plus its bad rows.

    The file is read once, up front: a bad header or an empty file stops the replay before
    anything is published (ConfigError), and a loop does not re-read it.
    """
    good, bad = _load(path, form or ReplayFormat())
    total = len(good) + len(bad)
    if not good:
        raise ConfigError(f"{path}: no valid data rows ({len(bad)} bad)")
    if start_row >= total:
        raise ConfigError(f"--start-row {start_row}: {path} has only {total} data rows")
    return _cycle(good, start_row, loop, str(path)), bad


def _load(path: Path, form: ReplayFormat) -> tuple[list[Row], list[BadRow]]:
    try:
        # errors="replace": a stray byte spoils only its own row, which is then reported by line.
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            return load_rows(handle, str(path), form)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except BadFileError as exc:
        raise ConfigError(str(exc)) from None


def _cycle(rows: list[Row], start_row: int, loop: bool, source: str) -> Iterator[Sourced]:
    first_pass = [row for row in rows if row.index >= start_row]
    yield from (Sourced(row.sample, f"{source}:{row.line}") for row in first_pass)
    while loop:
        yield from (Sourced(row.sample, f"{source}:{row.line}") for row in rows)


def simulated_items(
    seed: int,
    categories: Mapping[str, str] | None = None,
    count: int | None = None,
    profile: Profile | None = None,
) -> Iterator[Sourced]:
    """`count` simulated samples of `profile` (endless if None), the same ones for the same seed."""
    try:
        simulator = Simulator(np.random.default_rng(seed), profile, categories)
    except SimulationError as exc:
        raise ConfigError(str(exc)) from None
    return _simulate(simulator, count)


def _simulate(simulator: Simulator, count: int | None) -> Iterator[Sourced]:
    step = 0
    while count is None or step < count:
        step += 1
        yield Sourced(simulator.step(), f"simulation step {step}")


def write_csv(path: Path, items: Iterable[Sourced], profile: Profile) -> int:
    """Write samples as a CSV a profile's training reads (fields, failure, failure_description)."""
    names = [f.name for f in profile.fields]
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([*names, "failure", "failure_description"])
            count = 0
            for item in items:
                sample = item.sample
                writer.writerow(
                    [*(sample.values.get(n, "") for n in names), sample.failure, sample.failure_description]
                )
                count += 1
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return count
