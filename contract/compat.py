"""Backward compatibility, in one place: schema-version-1 predictions (the flat AI4I columns).

Before machine profiles, a prediction carried the AI4I milling machine's readings as flat
columns; such a payload is a prediction of an ``ai4i-mill`` machine. :func:`upgrade_prediction`
turns it into version 2 (the values in one ``values`` object), and :func:`flat_prediction`
gives a version-2 AI4I prediction the flat shape for readers not yet moved to version 2.
These names are the only AI4I field names the contract itself knows.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "V1_PHYSICAL_BOUNDS",
    "V1_PREDICTION_FIELDS",
    "V1_PROFILE",
    "V1_READING_NUMBERS",
    "V1_VALUE_FIELDS",
    "flat_prediction",
    "is_v1_prediction",
    "upgrade_prediction",
]

V1_PROFILE = "ai4i-mill"
# The numeric columns of a version-1 prediction, with the bounds readings had then.
V1_PHYSICAL_BOUNDS: dict[str, tuple[float, float]] = {
    "air_temp_k": (200.0, 400.0),
    "process_temp_k": (200.0, 450.0),
    "rotational_speed_rpm": (0.0, 20_000.0),
    "torque_nm": (0.0, 1_000.0),
    "tool_wear_min": (0.0, 100_000.0),
}
V1_READING_NUMBERS: tuple[str, ...] = tuple(V1_PHYSICAL_BOUNDS)
V1_VALUE_FIELDS: tuple[str, ...] = ("type", *V1_READING_NUMBERS, "product_id")
V1_PREDICTION_FIELDS: tuple[str, ...] = (
    "reading_id",
    "machine_id",
    "ts",
    "scored_at",
    "status",
    "failure_probability",
    "predicted_mode",
    "model_version",
    "threshold",
    *V1_VALUE_FIELDS,
    "failure",
    "failure_description",
    "explanation",
    "schema_version",
)


def is_v1_prediction(data: dict[str, Any]) -> bool:
    """A prediction written before profiles: schema_version 1 (or none) and no `values` object."""
    return data.get("schema_version", 1) == 1 and "values" not in data


def upgrade_prediction(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 prediction dict as version 2 (unchanged when it is not version 1)."""
    if not is_v1_prediction(data):
        return data
    upgraded = {key: value for key, value in data.items() if key not in V1_VALUE_FIELDS}
    upgraded["values"] = {name: data[name] for name in V1_VALUE_FIELDS if data.get(name) is not None}
    upgraded["profile"] = V1_PROFILE
    upgraded["schema_version"] = 2
    return upgraded


def flat_prediction(data: dict[str, Any]) -> dict[str, Any]:
    """A version-2 prediction of an AI4I machine in the version-1 flat shape (for old readers)."""
    if is_v1_prediction(data):
        return data
    values = data.get("values")
    flat = {key: value for key, value in data.items() if key not in ("values", "profile")}
    if isinstance(values, dict):
        flat.update({name: values.get(name) for name in V1_VALUE_FIELDS})
    return flat
