"""Data drift: how far recent readings are from what the model was trained on (no I/O).

The model card keeps, per sensor, the decile edges of the training rows; recent readings
are binned on the same edges and compared with the population stability index
PSI = sum((actual - expected) * ln(actual / expected)). Usual reading of PSI: below 0.1
stable, 0.1 to 0.25 moderate shift, above 0.25 significant shift (retrain or check sensors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["drift_report", "psi", "reference_distribution"]

_BINS = 10
_FLOOR = 1e-4  # an empty bin would make the logarithm infinite
MODERATE, SIGNIFICANT = 0.1, 0.25


def reference_distribution(columns: Mapping[str, np.ndarray]) -> dict[str, dict[str, list[float]]]:
    """Decile edges and bin shares of each sensor column (the profile's numeric fields) in the
    training rows, stored in the card; the report covers the same sensors."""
    reference = {}
    for name in columns:
        values = np.asarray(columns[name], dtype=float)
        edges = np.unique(np.quantile(values, np.linspace(0, 1, _BINS + 1)[1:-1]))
        reference[name] = {"edges": edges.round(4).tolist(), "shares": _shares(values, edges).round(6).tolist()}
    return reference


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected, actual = np.maximum(expected, _FLOOR), np.maximum(actual, _FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def drift_report(reference: Mapping[str, Any], recent: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """PSI and its reading per sensor of the reference, for the recent values of each."""
    report = []
    for name in reference:
        if len(recent.get(name, ())) == 0:
            continue
        edges = np.asarray(reference[name]["edges"], dtype=float)
        actual = _shares(np.asarray(recent[name], dtype=float), edges)
        value = psi(np.asarray(reference[name]["shares"], dtype=float), actual)
        report.append({"feature": name, "psi": round(value, 4), "level": _level(value)})
    return report


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def _level(value: float) -> str:
    if value >= SIGNIFICANT:
        return "significant"
    return "moderate" if value >= MODERATE else "stable"
