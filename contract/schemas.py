"""JSON Schemas generated from the contract and the profiles (never written by hand).

    payload_schemas()          # {"Prediction": {...}, "Alert": ..., "Rejection": ..., "Status": ..., "Reading": ...}
    profile_format_schema()    # the profile file format (the pydantic models of contract.profiles)
    reading_schema(profile)    # a reading of one profile, as its sensors send it
    values_schema(profile)     # the `values` object of that profile's predictions
    document(profiles)         # all of it in one JSON document (`python -m contract schema`)

The API's OpenAPI document and the dashboard's generated types use these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contract.payloads import (
    ALERT_KINDS,
    ALERT_STATES,
    MODEL_KINDS,
    ONLINE_STATES,
    PREDICTION_STATUSES,
    REJECTION_REASONS,
    SEVERITIES,
    Alert,
    Prediction,
    Reading,
    Rejection,
    Status,
)
from contract.profiles import CategoryField, Profile, SensorField, TextField
from contract.readings import reading_schema
from contract.validation import adapter

__all__ = [
    "document",
    "payload_schemas",
    "profile_format_schema",
    "reading_schema",
    "values_schema",
    "vocabularies",
]


def payload_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every payload dataclass (Reading: its parsed form)."""
    return {cls.__name__: adapter(cls).json_schema() for cls in (Reading, Prediction, Alert, Rejection, Status)}


def profile_format_schema() -> dict[str, Any]:
    """JSON Schema of a profile file."""
    return Profile.model_json_schema()


def vocabularies() -> dict[str, list[str]]:
    """Every closed set of words the payloads use."""
    return {
        "prediction_statuses": list(PREDICTION_STATUSES),
        "alert_kinds": list(ALERT_KINDS),
        "model_kinds": list(MODEL_KINDS),
        "alert_states": list(ALERT_STATES),
        "severities": list(SEVERITIES),
        "online_states": list(ONLINE_STATES),
        "rejection_reasons": list(REJECTION_REASONS),
    }


def values_schema(profile: Profile) -> dict[str, Any]:
    """JSON Schema of the `values` object of a prediction of `profile`."""
    properties: dict[str, Any] = {}
    required = []
    for item in profile.fields:
        properties[item.name] = _value_schema(item)
        if item.required:
            required.append(item.name)
    return {
        "title": f"Values of a {profile.name}",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _value_schema(item: SensorField | CategoryField | TextField) -> dict[str, Any]:
    if isinstance(item, SensorField):
        schema: dict[str, Any] = {"type": "number", "minimum": item.min, "maximum": item.max}
        return schema | {"title": item.label, "x-unit": item.unit, "x-kind": item.kind}
    if isinstance(item, CategoryField):
        return {"type": "string", "enum": list(item.values), "title": item.label, "x-kind": item.kind}
    return {"type": "string", "maxLength": item.max_length, "title": item.label, "x-kind": item.kind}


def document(profiles: Mapping[str, Profile]) -> dict[str, Any]:
    """Every schema in one document: payloads, vocabularies, the profile format, each profile."""
    return {
        "payloads": payload_schemas(),
        "vocabularies": vocabularies(),
        "profile_format": profile_format_schema(),
        "profiles": {
            profile_id: {
                "profile": profile.to_json_dict(),
                "reading": reading_schema(profile),
                "values": values_schema(profile),
            }
            for profile_id, profile in sorted(profiles.items())
        },
    }
