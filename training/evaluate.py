"""Score any CSV of a model's profile with a saved model version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.artifact import load_model
from model.scoring import ModelScorer
from training.dataset import load_dataset
from training.metrics import score_metrics

__all__ = ["Evaluation", "evaluate_file"]


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one model version on one file."""

    version: str
    source: Path
    metrics: dict[str, Any]
    seen_in_training: bool = False


def evaluate_file(
    path: Path,
    models_dir: Path,
    version: str | None = None,
    profile_id: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Evaluation:
    """Load `version` (default: the current one of `profile_id`), score every row of `path`, compute the metrics."""
    loaded = load_model(models_dir, version, profile_id=profile_id)
    scorer = ModelScorer(loaded)
    data = load_dataset([path], scorer.spec.profile, mapping)
    batch = scorer.score(data.raw)
    trained_on = {f.get("sha256") for f in loaded.card.get("data", {}).get("files", [])}
    seen = any(f.sha256 in trained_on for f in data.files)
    return Evaluation(loaded.version, path, score_metrics(data, batch, loaded.threshold), seen)
