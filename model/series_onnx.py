"""ONNX exports of the time-series model kinds, built node by node and checked for parity.

* RUL: scikit-learn's HistGradientBoostingRegressor as one ``TreeEnsembleRegressor``
  (ai.onnx.ml opset 3) with float64 thresholds, so every split decides exactly as
  scikit-learn's (which compares float64 features with float64 thresholds); only the
  output is float32 (the operator's), about 1e-5 cycles off. skl2onnx 1.20 cannot convert
  this model under scikit-learn 1.9 (it writes numpy booleans into an integer attribute),
  and its float32 thresholds would move rows across splits anyway.
* Anomaly: the squared Mahalanobis distance ``z P z`` of standardised features
  ``z = (x - mean) / scale``, in float64 throughout.

Used at training time (onnx's helpers); the worker only runs the result (model/series.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from model.series import INPUT_NAME, OUTPUT_NAME, onnx_session

__all__ = ["MAX_RUL_DIFF", "Parity", "export_mahalanobis", "export_regressor", "parity"]

MAX_RUL_DIFF = 1e-3  # cycles: float32 output rounding is ~1e-5 at RUL 125
_OPSET = 17
_ML_OPSET = 3


@dataclass(frozen=True)
class Parity:
    """How closely an export reproduces its source on some rows."""

    rows: int
    max_abs_diff: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_regressor(model: Any, feature_names: tuple[str, ...]) -> bytes:
    """A fitted HistGradientBoostingRegressor as ONNX: (n, features) float64 -> (n, 1)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = _TreeNodes()
    for tree_id, (predictor,) in enumerate(model._predictors):
        nodes.add_tree(tree_id, predictor.nodes)
    baseline = float(np.ravel(model._baseline_prediction)[0])
    attributes: dict[str, Any] = {
        "n_targets": 1,
        "post_transform": "NONE",
        "nodes_values_as_tensor": numpy_helper.from_array(np.asarray(nodes.thresholds, dtype=np.float64)),
        "target_weights_as_tensor": numpy_helper.from_array(np.asarray(nodes.weights, dtype=np.float64)),
        "base_values_as_tensor": numpy_helper.from_array(np.asarray([baseline], dtype=np.float64)),
        **nodes.attributes,
    }
    ensemble = helper.make_node("TreeEnsembleRegressor", [INPUT_NAME], [OUTPUT_NAME], domain="ai.onnx.ml", **attributes)
    width = len(feature_names)
    graph = helper.make_graph(
        [ensemble],
        "forewarn_rul",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.DOUBLE, [None, width])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [None, 1])],
    )
    return _serialise(graph, {"forewarn.features": ",".join(feature_names), "forewarn.kind": "rul"})


class _TreeNodes:
    """The flat node lists of a TreeEnsembleRegressor, filled tree by tree."""

    def __init__(self) -> None:
        names = (
            "treeids",
            "nodeids",
            "featureids",
            "modes",
            "truenodeids",
            "falsenodeids",
            "missing_value_tracks_true",
        )
        self.attributes: dict[str, list[Any]] = {f"nodes_{name}": [] for name in names}
        self.attributes |= {"target_treeids": [], "target_nodeids": [], "target_ids": []}
        self.thresholds: list[float] = []
        self.weights: list[float] = []

    def add_tree(self, tree_id: int, records: np.ndarray) -> None:
        a = self.attributes
        for node_id, node in enumerate(records):
            leaf = bool(node["is_leaf"])
            a["nodes_treeids"].append(tree_id)
            a["nodes_nodeids"].append(node_id)
            a["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            a["nodes_featureids"].append(0 if leaf else int(node["feature_idx"]))
            a["nodes_truenodeids"].append(0 if leaf else int(node["left"]))
            a["nodes_falsenodeids"].append(0 if leaf else int(node["right"]))
            a["nodes_missing_value_tracks_true"].append(0 if leaf else int(node["missing_go_to_left"]))
            self.thresholds.append(0.0 if leaf else float(node["num_threshold"]))
            if leaf:
                a["target_treeids"].append(tree_id)
                a["target_nodeids"].append(node_id)
                a["target_ids"].append(0)
                self.weights.append(float(node["value"]))


def export_mahalanobis(
    mean: np.ndarray, scale: np.ndarray, precision: np.ndarray, feature_names: tuple[str, ...]
) -> bytes:
    """The squared Mahalanobis distance as ONNX: (n, features) float64 -> (n, 1) float64."""
    from onnx import TensorProto, helper, numpy_helper

    width = len(feature_names)
    constants = {
        "mean": np.asarray(mean, dtype=np.float64).reshape(1, width),
        "scale": np.asarray(scale, dtype=np.float64).reshape(1, width),
        "precision": np.asarray(precision, dtype=np.float64).reshape(width, width),
        "axes": np.array([1], dtype=np.int64),
    }
    graph = helper.make_graph(
        [
            helper.make_node("Sub", [INPUT_NAME, "mean"], ["centred"]),
            helper.make_node("Div", ["centred", "scale"], ["z"]),
            helper.make_node("MatMul", ["z", "precision"], ["zp"]),
            helper.make_node("Mul", ["zp", "z"], ["terms"]),
            helper.make_node("ReduceSum", ["terms", "axes"], [OUTPUT_NAME], keepdims=1),
        ],
        "forewarn_anomaly",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.DOUBLE, [None, width])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.DOUBLE, [None, 1])],
        [numpy_helper.from_array(value, name) for name, value in constants.items()],
    )
    return _serialise(graph, {"forewarn.features": ",".join(feature_names), "forewarn.kind": "anomaly"})


def _serialise(graph: Any, properties: dict[str, str]) -> bytes:
    from onnx import checker, helper

    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _OPSET), helper.make_opsetid("ai.onnx.ml", _ML_OPSET)],
        producer_name="forewarn",
    )
    model.ir_version = 8
    helper.set_model_props(model, properties)
    checker.check_model(model)
    return bytes(model.SerializeToString())


def parity(onnx_model: bytes, expected: np.ndarray, features: np.ndarray) -> Parity:
    """The export's outputs on `features` against the source's `expected` values."""
    session = onnx_session(onnx_model)
    got = np.asarray(session.run([OUTPUT_NAME], {INPUT_NAME: features})[0], dtype=np.float64).reshape(-1)
    return Parity(rows=len(features), max_abs_diff=float(np.max(np.abs(got - expected), initial=0.0)))
