"""Metrics of scored rows against the Failure column, as plain JSON-ready dicts."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score

from model.scoring import ScoreBatch
from training.dataset import UNSPECIFIED, Dataset

__all__ = ["binary_metrics", "mode_accuracy", "per_mode_recall", "score_metrics"]


def binary_metrics(truth: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, Any]:
    """Precision, recall, F1, PR-AUC and the confusion counts at `threshold`."""
    truth = truth.astype(bool)
    flagged = probability >= threshold
    tp = int(np.sum(flagged & truth))
    fp = int(np.sum(flagged & ~truth))
    fn = int(np.sum(~flagged & truth))
    tn = int(np.sum(~flagged & ~truth))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    pr_auc = float(average_precision_score(truth, probability)) if truth.any() else None
    return {
        "rows": len(truth),
        "failures": int(truth.sum()),
        "threshold": threshold,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "pr_auc": None if pr_auc is None else round(pr_auc, 4),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def per_mode_recall(data: Dataset, flagged: np.ndarray) -> dict[str, dict[str, Any]]:
    """For each mode present among failure rows: how many of them were flagged."""
    result: dict[str, dict[str, Any]] = {}
    failed = data.failure.astype(bool)
    for column, mode in enumerate(data.modes):
        rows = failed & data.mode_flags[:, column]
        count = int(rows.sum())
        if count:
            detected = int(np.sum(flagged & rows))
            result[mode] = {"n": count, "detected": detected, "recall": round(detected / count, 4)}
    return result


def mode_accuracy(data: Dataset, batch: ScoreBatch, flagged: np.ndarray) -> float | None:
    """Share of detected failures (known mode) whose predicted mode is their primary mode."""
    rows = np.flatnonzero(flagged & data.failure.astype(bool) & (data.mode != UNSPECIFIED))
    if rows.size == 0:
        return None
    hits = sum(batch.predicted_mode[row] == data.mode[row] for row in rows)
    return round(float(hits) / rows.size, 4)


def score_metrics(data: Dataset, batch: ScoreBatch, threshold: float) -> dict[str, Any]:
    """Every reported metric of a scored dataset."""
    flagged = batch.failure_probability >= threshold
    metrics = binary_metrics(data.failure, batch.failure_probability, threshold)
    metrics["per_mode"] = per_mode_recall(data, flagged)
    metrics["mode_accuracy"] = mode_accuracy(data, batch, flagged)
    return metrics
