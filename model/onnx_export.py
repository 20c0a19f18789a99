"""Export a trained pipeline's scaler and forest to ONNX, checked against scikit-learn.

Feature engineering stays in Python (the profile's :class:`model.engineering.FeatureSpec`,
numpy); the steps after the FeatureBuilder become one ONNX graph served by onnxruntime::

    features (n, width) float64 -> Sub(mean) -> Div(scale) -> Cast(float32)
        -> TreeEnsembleClassifier -> probabilities (n, classes) float32

The scaler runs in float64 inside the graph, exactly as scikit-learn runs it, and the
forest sees the float32 values scikit-learn's trees see. (skl2onnx's own float32 scaler
rounds differently; on the AI4I rows that moved values across split thresholds and put
some probabilities 0.04 off. This graph stays within 1e-6.)

Training calls :func:`export_checked` and ships ``model.onnx`` only when it agrees with
the pipeline on the training rows; scikit-learn stays the source of truth and the
fallback. Used at training time only: the worker never imports skl2onnx.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from model.artifact import NO_FAILURE
from model.engineering import FeatureSpec, spec_of_json

__all__ = [
    "INPUT_NAME",
    "MAX_ABS_DIFF",
    "META_CLASSES",
    "META_FEATURES",
    "MIN_AGREEMENT",
    "OUTPUT_NAME",
    "ExportError",
    "Parity",
    "export_checked",
    "export_onnx",
    "onnx_probabilities",
    "parity",
]

log = logging.getLogger(__name__)

INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
META_CLASSES = "forewarn.classes"
META_FEATURES = "forewarn.features"
MAX_ABS_DIFF = 1e-3  # far above float32 rounding (~1e-6), far below any decision
MIN_AGREEMENT = 0.999  # flags at the threshold; a row within 1e-6 of it may flip
_SCALED = "scaled_float32"


class ExportError(Exception):
    """The pipeline cannot be exported, or its export disagrees with it."""


@dataclass(frozen=True)
class Parity:
    """How closely the ONNX export reproduces the pipeline on some rows."""

    rows: int
    max_abs_diff: float  # over every class probability
    label_agreement: float  # share of rows flagged identically at the threshold
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_onnx(pipeline: Any) -> bytes:
    """The steps after the FeatureBuilder as a serialised ONNX model (raises ExportError)."""
    scaler, forest = _split(pipeline)
    names = _spec(pipeline).feature_names
    try:
        from onnx import TensorProto, helper, numpy_helper
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType
    except ImportError as exc:
        raise ExportError(f"skl2onnx/onnx not installed ({exc})") from None
    width = len(names)
    try:
        trees = convert_sklearn(
            forest,
            initial_types=[(_SCALED, FloatTensorType([None, width]))],
            options={id(forest): {"zipmap": False}},
        )
    except Exception as exc:  # skl2onnx raises many types for unsupported models
        raise ExportError(f"skl2onnx cannot convert {type(forest).__name__}: {exc}") from None
    mean, scale = _scaling(scaler, width)
    graph = trees.graph
    prologue = [
        helper.make_node("Sub", [INPUT_NAME, "scaler_mean"], ["centred"]),
        helper.make_node("Div", ["centred", "scaler_scale"], ["scaled"]),
        helper.make_node("Cast", ["scaled"], [_SCALED], to=TensorProto.FLOAT),
    ]
    new_graph = helper.make_graph(
        prologue + list(graph.node),
        "forewarn_forest",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.DOUBLE, [None, width])],
        [output for output in graph.output if output.name == OUTPUT_NAME],
        [
            numpy_helper.from_array(mean, "scaler_mean"),
            numpy_helper.from_array(scale, "scaler_scale"),
            *graph.initializer,
        ],
    )
    model = helper.make_model(new_graph, opset_imports=list(trees.opset_import), producer_name="forewarn")
    model.ir_version = trees.ir_version
    helper.set_model_props(
        model,
        {
            META_CLASSES: json.dumps([str(c) for c in forest.classes_]),
            META_FEATURES: json.dumps(list(names)),
        },
    )
    return bytes(model.SerializeToString())


def _split(pipeline: Any) -> tuple[Any, Any]:
    """(scaler or None, forest) after the FeatureBuilder; anything else is not exportable."""
    steps = [step for _, step in pipeline.steps[1:]]
    names = [type(step).__name__ for step in steps]
    if names == ["StandardScaler", "RandomForestClassifier"]:
        return steps[0], steps[1]
    if names == ["RandomForestClassifier"]:
        return None, steps[0]
    raise ExportError(f"cannot export pipeline steps {names} after the FeatureBuilder")


def _scaling(scaler: Any, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale as float64; 0 and 1 where the scaler skips a step (exact in IEEE)."""
    mean = getattr(scaler, "mean_", None)
    scale = getattr(scaler, "scale_", None)
    if scaler is not None and not scaler.with_mean:
        mean = None
    if scaler is not None and not scaler.with_std:
        scale = None
    mean = np.zeros(width) if mean is None else np.asarray(mean, dtype=np.float64)
    scale = np.ones(width) if scale is None else np.asarray(scale, dtype=np.float64)
    return mean.reshape(1, width), scale.reshape(1, width)


def _spec(pipeline: Any) -> FeatureSpec:
    """The feature spec of the pipeline's first step (the default profile's for old pipelines)."""
    return spec_of_json(getattr(pipeline.steps[0][1], "profile_json", None))


def onnx_probabilities(onnx_model: bytes, raw: np.ndarray, spec: FeatureSpec | None = None) -> np.ndarray:
    """Class probabilities of raw rows through the export, with onnxruntime on one thread."""
    spec = spec or spec_of_json(None)
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])
    return np.asarray(session.run([OUTPUT_NAME], {INPUT_NAME: spec.engineer(raw)})[0], dtype=np.float64)


def parity(pipeline: Any, onnx_model: bytes, raw: np.ndarray, threshold: float) -> Parity:
    """Compare the export with the pipeline on raw rows: max difference, label agreement."""
    expected = pipeline.predict_proba(raw)
    got = onnx_probabilities(onnx_model, raw, _spec(pipeline))
    none = [str(c) for c in pipeline.classes_].index(NO_FAILURE)
    flagged = (1.0 - expected[:, none]) >= threshold
    flagged_onnx = (1.0 - got[:, none]) >= threshold
    return Parity(
        rows=len(raw),
        max_abs_diff=float(np.max(np.abs(got - expected), initial=0.0)),
        label_agreement=float(np.mean(flagged == flagged_onnx)) if len(raw) else 1.0,
        threshold=threshold,
    )


def export_checked(pipeline: Any, raw: np.ndarray, threshold: float) -> tuple[bytes, Parity] | None:
    """The export and its parity on `raw`, or None (logged) when it fails or disagrees."""
    try:
        onnx_model = export_onnx(pipeline)
        checked = parity(pipeline, onnx_model, raw, threshold)
    except ExportError as exc:
        log.warning("no ONNX export, the worker will serve with scikit-learn: %s", exc)
        return None
    except Exception as exc:  # onnxruntime refusing the graph, or not installed
        log.warning("ONNX export not usable, the worker will serve with scikit-learn: %s: %s", type(exc).__name__, exc)
        return None
    if checked.max_abs_diff > MAX_ABS_DIFF or checked.label_agreement < MIN_AGREEMENT:
        log.warning("ONNX export disagrees with scikit-learn (%s); not shipped", checked)
        return None
    log.info("ONNX export agrees with scikit-learn on %d rows (max |diff| %.2g)", checked.rows, checked.max_abs_diff)
    return onnx_model, checked
