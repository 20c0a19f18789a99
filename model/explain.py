"""Why a prediction says what it says: per-feature contributions and failure-mode rules.

Contributions are the forest's decision-path contributions, computed from the trees
themselves: walking a row from the root to its leaf, each split moves the node's
failure probability (1 - P(none)); that change is credited to the split's feature.
Averaged over the trees, `base_value + sum(contributions)` equals the forest's failure
probability for the row, exactly. Rows are walked level by level for all rows at once,
so the cost is per tree and depth, not per row.

Rule conditions restate the profile's failure-region rules (model/rules.py) in plain
words with their margin, for readings in or near a failure region. The explainer computes
the features of the profile its model was trained for (the card's), like the scorer.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from model.engineering import FeatureSpec, spec_of_card, spec_of_json
from model.rules import rule_conditions

__all__ = ["Explainer", "ForestArrays", "forest_arrays", "load_explainer", "rule_conditions"]

TOP_CONTRIBUTIONS = 5


@dataclass(frozen=True)
class ForestArrays:
    """The fitted scaler and forest as plain arrays: all the explainer needs, no scikit-learn.

    Nodes of all trees are numbered globally; `roots` holds each tree's root. Leaves
    have `left == -1`. `failure` is each node's failure probability (1 - P(none)).
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    failure: np.ndarray
    roots: np.ndarray
    scaler_mean: np.ndarray
    scaler_scale: np.ndarray

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{f.name: getattr(self, f.name) for f in fields(self)})
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ForestArrays:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:  # plain arrays: nothing to execute
            return cls(**{f.name: np.asarray(arrays[f.name]) for f in fields(cls)})

    def save(self, path: Path) -> None:
        path.write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: Path) -> ForestArrays:
        return cls.from_bytes(path.read_bytes())


def forest_arrays(pipeline: Any, no_failure_index: int) -> ForestArrays:
    """Extract ForestArrays from a fitted Pipeline([features, StandardScaler, RandomForest])."""
    scaler, forest = pipeline.steps[-2][1], pipeline.steps[-1][1]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ("left", "right", "feature", "threshold", "failure")}
    roots, offset = [], 0
    for estimator in forest.estimators_:
        tree = estimator.tree_
        roots.append(offset)
        inner = tree.children_left >= 0
        parts["left"].append(np.where(inner, tree.children_left + offset, -1))
        parts["right"].append(np.where(inner, tree.children_right + offset, -1))
        parts["feature"].append(np.where(inner, tree.feature, 0))
        parts["threshold"].append(tree.threshold)
        value = tree.value[:, 0, :]
        parts["failure"].append(1.0 - value[:, no_failure_index] / value.sum(axis=1))
        offset += tree.node_count
    arrays = {name: np.concatenate(chunks) for name, chunks in parts.items()}
    return ForestArrays(roots=np.array(roots), scaler_mean=scaler.mean_, scaler_scale=scaler.scale_, **arrays)


class Explainer:
    """Decision-path contributions of a forest, for raw rows of its spec; numpy only."""

    def __init__(self, arrays: ForestArrays, spec: FeatureSpec | None = None) -> None:
        self._a = arrays
        self.spec = spec or spec_of_json(None)
        self._trees = len(arrays.roots)
        self._base = float(arrays.failure[arrays.roots].mean())

    @property
    def base_value(self) -> float:
        return self._base

    def explain(self, raw: np.ndarray) -> list[dict[str, Any]]:
        """One explanation per raw row: base value, top contributions, rule conditions."""
        if len(raw) == 0:
            return []
        features = self.spec.engineer(raw)
        contributions = self._walk(features)
        return [_explanation(self.spec, self._base, contributions[i], features[i], raw[i]) for i in range(len(raw))]

    def contributions(self, raw: np.ndarray) -> np.ndarray:
        """(n, features) signed contributions; each row sums to probability - base."""
        return self._walk(self.spec.engineer(raw))

    def _walk(self, features: np.ndarray) -> np.ndarray:
        """All rows through all trees at once, one tree level per step."""
        a = self._a
        # The trees compare float32 features against float64 thresholds, as scikit-learn does.
        x = ((features - a.scaler_mean) / a.scaler_scale).astype(np.float32).astype(np.float64)
        n = len(x)
        rows = np.repeat(np.arange(n), self._trees)
        node = np.tile(a.roots, n)
        totals = np.zeros((n, len(self.spec.feature_names)))
        active = np.flatnonzero(a.left[node] >= 0)
        while active.size:
            at = node[active]
            split = a.feature[at]
            child = np.where(x[rows[active], split] <= a.threshold[at], a.left[at], a.right[at])
            np.add.at(totals, (rows[active], split), a.failure[child] - a.failure[at])
            node[active] = child
            active = active[a.left[child] >= 0]
        return totals / self._trees


def _explanation(
    spec: FeatureSpec, base: float, contributions: np.ndarray, features: np.ndarray, raw: np.ndarray
) -> dict[str, Any]:
    order = np.argsort(-np.abs(contributions))[:TOP_CONTRIBUTIONS]
    shown = [i for i in order if contributions[i] != 0.0]
    return {
        "base_value": round(base, 4),
        # the features not listed, summed, so base + contributions + rest = probability
        "rest": round(float(contributions.sum() - contributions[shown].sum()), 4),
        "contributions": [
            {
                "feature": spec.feature_names[i],
                "value": round(float(features[i]), 3),
                "contribution": round(float(contributions[i]), 4),
            }
            for i in shown
        ],
        "conditions": rule_conditions(raw, spec),
    }


def load_explainer(version_dir: Path, card: dict[str, Any]) -> Explainer | None:
    """The explainer saved with a model version, or None when it has none or its file does not match."""
    entry = card.get("explainer") or {}
    try:
        data = (version_dir / entry["file"]).read_bytes()
    except (KeyError, OSError):
        return None
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        return None
    return Explainer(ForestArrays.from_bytes(data), spec_of_card(card))


def explainer_of(models_dir: Path, version: str) -> Explainer | None:
    """The explainer of a saved model version (reads its card; None if it has none)."""
    try:
        card = json.loads((models_dir / version / "card.json").read_text())
    except (OSError, ValueError):
        return None
    return load_explainer(models_dir / version, card)
