"""Figures of remaining-useful-life predictions and anomaly alarms (numpy only, no I/O).

RUL follows the C-MAPSS convention: the error ``d = predicted - true`` of each machine's
last row (RMSE and NASA's asymmetric score, which charges late predictions more:
``exp(d / 10) - 1`` when ``d >= 0``, ``exp(-d / 13) - 1`` when early), and the same over
all rows. Anomaly alarms are judged against run-to-failure histories: how long before
failure each machine was first flagged (its lead), and the alarms in the first half of
a life, which are false by construction (nothing is failing yet).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "AlarmFigures",
    "RulFigures",
    "alarm_figures",
    "first_alarms",
    "last_rows",
    "nasa_score",
    "rmse",
    "rul_figures",
]

LATE_SCALE = 10.0  # NASA's score: a late prediction by 10 cycles costs e - 1
EARLY_SCALE = 13.0


def nasa_score(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """NASA's per-prediction penalty (PHM08): sum it over engines for the usual figure."""
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    scale = np.where(error < 0, -EARLY_SCALE, LATE_SCALE)
    return np.asarray(np.expm1(error / scale))


def rmse(predicted: np.ndarray, true: np.ndarray) -> float:
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    return float(np.sqrt(np.mean(error**2))) if error.size else float("nan")


def last_rows(machines: np.ndarray) -> np.ndarray:
    """Index of each machine's last row, for rows grouped by machine and in order within it."""
    machines = np.asarray(machines)
    if machines.size == 0:
        return np.zeros(0, dtype=np.int64)
    changes = np.flatnonzero(machines[1:] != machines[:-1])
    return np.append(changes, machines.size - 1)


@dataclass(frozen=True)
class RulFigures:
    """RUL errors on the machines' last rows and on all rows."""

    machines: int
    rows: int
    last_rmse: float
    last_score: float  # summed over machines, as published for C-MAPSS
    last_mean_error: float  # > 0: late on average
    all_rmse: float
    all_score_mean: float  # per row: sums over rows grow with the history's length
    coverage_last: float | None = None  # share of last rows whose true RUL is inside the interval
    coverage_all: float | None = None
    mean_width_last: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rul_figures(
    machines: np.ndarray,
    true: np.ndarray,
    predicted: np.ndarray,
    interval: tuple[np.ndarray, np.ndarray] | None = None,
) -> RulFigures:
    """Figures of predictions for rows grouped by machine, in order within each machine."""
    last = last_rows(machines)
    coverage: dict[str, float | None] = {"coverage_last": None, "coverage_all": None, "mean_width_last": None}
    if interval is not None:
        low, high = interval
        inside = (low <= true) & (true <= high)
        coverage = {
            "coverage_last": float(np.mean(inside[last])),
            "coverage_all": float(np.mean(inside)),
            "mean_width_last": float(np.mean(high[last] - low[last])),
        }
    return RulFigures(
        machines=len(last),
        rows=len(true),
        last_rmse=rmse(predicted[last], true[last]),
        last_score=float(np.sum(nasa_score(predicted[last], true[last]))),
        last_mean_error=float(np.mean(predicted[last] - true[last])),
        all_rmse=rmse(predicted, true),
        all_score_mean=float(np.mean(nasa_score(predicted, true))),
        **coverage,
    )


def first_alarms(machines: np.ndarray, flagged: np.ndarray) -> dict[Any, int | None]:
    """Per machine, the position (0-based, within its rows) of its first flagged row, or None."""
    result: dict[Any, int | None] = {}
    start = 0
    for end in last_rows(machines) + 1:
        hits = np.flatnonzero(flagged[start:end])
        result[machines[start]] = int(hits[0]) if hits.size else None
        start = end
    return result


@dataclass(frozen=True)
class AlarmFigures:
    """An alarm rule's figures on histories that end in a failure (or are cut before it)."""

    machines: int
    flagged_share: float  # of the judged machines, those flagged at least `min_lead` readings before failure
    min_lead: int
    undecided: int  # histories cut while more than `min_lead` readings remained, and not flagged: not judged
    median_lead: float | None  # readings between the first alarm and failure, flagged machines
    min_lead_seen: int | None
    early_false_alarm_machines: int  # machines with an alarm in the first half of their life
    false_alarms_per_1000: float  # flagged healthy rows (first half of life) per 1,000
    leads: dict[str, int | None]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def alarm_figures(machines: np.ndarray, rul: np.ndarray, flagged: np.ndarray, min_lead: int = 20) -> AlarmFigures:
    """Leads (RUL at the first alarm) and early false alarms, rows grouped by machine in order.

    Histories start when the machine is new. A row is healthy when it lies in the first half
    of its machine's life (its RUL is at least its age, in readings); a machine's lead is the
    true RUL at its first alarm outside that half, so that an early false alarm does not count
    as a warning. A history cut before failure that ends more than `min_lead` readings before
    it, without an alarm, cannot be judged (the alarm was not due yet) and is left out of
    the flagged share.
    """
    leads: dict[str, int | None] = {}
    early_machines = 0
    undecided = 0
    healthy_rows = 0
    healthy_flags = 0
    start = 0
    for end in last_rows(machines) + 1:
        life = rul[start:end]
        alarm = flagged[start:end].astype(bool)
        healthy = life >= np.arange(end - start)  # age <= RUL: the first half of its life
        healthy_rows += int(healthy.sum())
        healthy_flags += int((alarm & healthy).sum())
        early_machines += int((alarm & healthy).any())
        hits = np.flatnonzero(alarm & ~healthy)
        leads[str(machines[start])] = int(life[hits[0]]) if hits.size else None
        undecided += int(not hits.size and life[-1] >= min_lead)
        start = end
    found = [lead for lead in leads.values() if lead is not None]
    return AlarmFigures(
        machines=len(leads),
        flagged_share=sum(lead >= min_lead for lead in found) / max(len(leads) - undecided, 1),
        min_lead=min_lead,
        undecided=undecided,
        median_lead=float(np.median(found)) if found else None,
        min_lead_seen=min(found) if found else None,
        early_false_alarm_machines=early_machines,
        false_alarms_per_1000=1000 * healthy_flags / max(healthy_rows, 1),
        leads=leads,
    )
