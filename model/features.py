"""Feature engineering shared by training and serving, and its scikit-learn Pipeline step.

The numpy code lives in :mod:`model.engineering` (importable without scikit-learn, which
the worker serving the ONNX export never loads); this module adds
:class:`FeatureBuilder`, the first step of the saved Pipeline (skops names it
``model.features.FeatureBuilder``, so it stays here).

    raw = raw_matrix(readings)     # model.engineering: (n, 6) float64 in RAW_COLUMNS order
    features = engineer(raw)       # (n, len(FEATURE_NAMES))
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from model.engineering import FEATURE_NAMES, engineer

__all__ = ["FeatureBuilder"]


class FeatureBuilder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Stateless scikit-learn step: ``transform`` is :func:`engineer`."""

    def fit(self, x: Any, y: Any = None) -> Self:
        """Nothing to learn; present so the step fits in a Pipeline."""
        return self

    def transform(self, x: Any) -> np.ndarray:
        """Engineered features of raw rows."""
        return engineer(np.asarray(x, dtype=np.float64))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """FEATURE_NAMES, so pipelines can name their inputs."""
        return np.asarray(FEATURE_NAMES, dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags
