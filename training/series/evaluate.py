"""Score a CSV of machine histories with a saved RUL or anomaly model, as the worker would.

The features come from the model's card (its inputs and windows, computed over each
machine's history in order) and the scores from its ONNX export through onnxruntime,
the serving path. RUL: RMSE and NASA's score on each machine's last row (C-MAPSS: test
engines cut before failure, with a ``rul`` column) and on all rows, with the interval's
coverage. Anomaly: the share of machines flagged at least ``lead`` readings before
failure, the median lead, and false alarms in the first half of lives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.series import AnomalyScorer, RulScorer
from model.series_artifact import load_series_model
from training.series.anomaly import history_positions
from training.series.data import load_histories
from training.series.metrics import alarm_figures, rul_figures
from training.series.profile import SeriesProfile
from training.series.rul import feature_matrix

__all__ = ["SeriesEvaluation", "evaluate_series"]


@dataclass(frozen=True)
class SeriesEvaluation:
    """Figures of one model version on one file."""

    version: str
    kind: str
    source: Path
    truth: str
    figures: dict[str, Any]
    unit: str = ""
    seen_in_training: bool = False


def evaluate_series(
    path: Path,
    profile: SeriesProfile,
    models_dir: Path,
    *,
    version: str | None = None,
    mapping: Mapping[str, str] | None = None,
    lead: int = 20,
) -> SeriesEvaluation:
    """Load the profile's model (default: current), score every row of `path`, compute the figures."""
    model = load_series_model(models_dir, profile.id, version)
    histories = load_histories(path, profile, mapping)
    assert histories.rul is not None
    matrix = feature_matrix(histories, model.features)
    scorer = model.scorer()
    if isinstance(scorer, RulScorer):
        predicted, low, high = scorer.score(matrix)
        figures = rul_figures(histories.machines, histories.rul, predicted, (low, high)).as_dict()
        figures["coverage_nominal"] = scorer.interval.coverage
    else:
        assert isinstance(scorer, AnomalyScorer)
        position, _ = history_positions(histories)
        _, flagged = scorer.score(matrix, position + 1)  # readings seen so far, this one included
        figures = alarm_figures(histories.machines, histories.rul, flagged, lead).as_dict()
    seen = model.card.get("data", {}).get("sha256") == histories.sha256
    unit = str(model.card.get("unit", profile.rul_unit))
    return SeriesEvaluation(model.version, model.kind, path, histories.rul_source, figures, unit, seen)
