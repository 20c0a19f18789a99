"""Validation splits over whole machines, and test-like cuts of held-out histories.

Rows of one machine are never on both sides of a split: folds are sets of machines.
Held-out machines run to failure, where a RUL is trivially 0; NASA's FD001 test engines
are instead cut at an unknown point before failure (true RULs from 7 to 145 cycles,
histories of 31 cycles or more). :func:`cut_rows` cuts held-out histories the same way,
seeded, so that each machine's last row has a true RUL above 0 to predict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Cut", "Fold", "cut_rows", "machine_folds", "split_machines"]


@dataclass(frozen=True)
class Fold:
    """Machines to fit on and machines held out."""

    fit: tuple[str, ...]
    held_out: tuple[str, ...]


def machine_folds(ids: Sequence[str], folds: int, seed: int) -> list[Fold]:
    """`folds` folds: every machine held out exactly once, the machines shuffled by `seed`."""
    if folds < 2 or folds > len(ids):
        raise ValueError(f"{folds} folds need between 2 and {len(ids)} machines per fold")
    shuffled = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    parts = [tuple(sorted(shuffled[k::folds])) for k in range(folds)]
    return [
        Fold(tuple(m for j, part in enumerate(parts) if j != k for m in part), held_out)
        for k, held_out in enumerate(parts)
    ]


def split_machines(ids: Sequence[str], held_out_share: float, seed: int) -> Fold:
    """One split: about `held_out_share` of the machines held out (at least one on each side)."""
    if len(ids) < 2:
        raise ValueError(f"need at least 2 machines to validate on held-out ones, got {len(ids)}")
    count = min(max(1, round(len(ids) * held_out_share)), len(ids) - 1)
    order = np.random.default_rng(seed).permutation(len(ids))
    held = {ids[i] for i in order[:count]}
    return Fold(tuple(m for m in ids if m not in held), tuple(m for m in ids if m in held))


@dataclass(frozen=True)
class Cut:
    """How held-out histories are cut: the true RUL left at the cut, the history kept."""

    min_rul: int = 7
    max_rul: int = 145
    min_history: int = 31


def cut_rows(machines: np.ndarray, rul: np.ndarray, seed: int, cut: Cut = Cut()) -> np.ndarray:
    """Per machine (rows grouped, in order), the index of a seeded random last row.

    The true RUL at the cut is drawn uniformly in [min_rul, max_rul], then lowered where
    needed so that at least `min_history` rows (or all but the last, for a short history)
    come before it. Returns one row index per machine, in machine order.
    """
    rng = np.random.default_rng(seed)
    breaks = np.flatnonzero(machines[1:] != machines[:-1]) + 1
    starts = np.r_[0, breaks]
    ends = np.r_[breaks, len(machines)]
    chosen = []
    for start, end in zip(starts, ends, strict=True):
        wanted = rng.integers(cut.min_rul, cut.max_rul + 1)
        # Rows whose RUL is at most `wanted`, keeping enough history before the cut.
        earliest = start + min(cut.min_history, end - start) - 1
        candidates = np.flatnonzero(rul[start:end] <= wanted) + start
        candidates = candidates[candidates >= earliest]
        chosen.append(int(candidates[0]) if candidates.size else end - 1)
    return np.asarray(chosen, dtype=np.int64)
