"""Feature engineering shared by training and serving, and its scikit-learn Pipeline step.

The numpy code lives in :mod:`model.engineering` (importable without scikit-learn, which
the worker serving the ONNX export never loads); this module adds
:class:`FeatureBuilder`, the first step of the saved Pipeline (skops names it
``model.features.FeatureBuilder``, so it stays here).

The step carries the profile it was trained for as JSON text (plain data, which skops
stores without trusting any new type); a step saved before profiles has none and uses
the default profile (the AI4I milling machine), which is what it was trained on.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from model.engineering import FeatureSpec, spec_of_json

__all__ = ["FeatureBuilder"]


class FeatureBuilder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Stateless scikit-learn step: ``transform`` is the profile's ``engineer``."""

    def __init__(self, profile_json: str | None = None) -> None:
        self.profile_json = profile_json

    @property
    def spec(self) -> FeatureSpec:
        # getattr: a step unpickled from before profiles has no attribute at all.
        return spec_of_json(getattr(self, "profile_json", None))

    def fit(self, x: Any, y: Any = None) -> Self:
        """Nothing to learn; present so the step fits in a Pipeline."""
        return self

    def transform(self, x: Any) -> np.ndarray:
        """Engineered features of raw rows."""
        return self.spec.engineer(np.asarray(x, dtype=np.float64))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The profile's feature names, so pipelines can name their inputs."""
        return np.asarray(self.spec.feature_names, dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags
