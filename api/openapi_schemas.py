"""JSON Schemas (OpenAPI 3.1 components) of everything the API answers.

The payload schemas mirror contract/payloads.py; a unit test checks their property names
against the dataclasses so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from api.params import NAME_MAX, NAME_PATTERN

__all__ = ["SCHEMAS"]

Schema = dict[str, Any]

TS: Schema = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC"}
NULLABLE_TS: Schema = {"type": ["string", "null"], "format": "date-time"}
NUMBER: Schema = {"type": "number"}
PROBABILITY: Schema = {"type": "number", "minimum": 0, "maximum": 1}
STATUS: Schema = {"type": "string", "enum": ["normal", "predictive", "failure"]}
COUNT: Schema = {"type": "integer", "minimum": 0}


def _nullable(kind: str, **extra: Any) -> Schema:
    return {"type": [kind, "null"], **extra}


def _object(properties: dict[str, Schema], description: str = "", optional: tuple[str, ...] = ()) -> Schema:
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }
    if description:
        schema["description"] = description
    return schema


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


READING_VALUES: dict[str, Schema] = {
    "air_temp_k": NUMBER,
    "process_temp_k": NUMBER,
    "rotational_speed_rpm": NUMBER,
    "torque_nm": NUMBER,
    "tool_wear_min": NUMBER,
}

PREDICTION: dict[str, Schema] = {
    "reading_id": {"type": "string"},
    "machine_id": {"type": "string"},
    "ts": TS,
    "scored_at": {"type": "string"},
    "status": STATUS,
    "failure_probability": PROBABILITY,
    "predicted_mode": _nullable("string"),
    "model_version": {"type": "string"},
    "threshold": PROBABILITY,
    "type": {"type": "string", "enum": ["L", "M", "H"]},
    **READING_VALUES,
    "product_id": _nullable("string"),
    "failure": {"type": ["integer", "null"], "enum": [0, 1, None]},
    "failure_description": _nullable("string"),
    "explanation": _nullable("object", description="the model's explanation, when it gave one"),
    "schema_version": {"type": "integer"},
}

ALERT: dict[str, Schema] = {
    "alert_id": {"type": "string"},
    "machine_id": {"type": "string"},
    "kind": {"type": "string", "enum": ["predicted", "detected"]},
    "severity": {"type": "string", "enum": ["warning", "critical"]},
    "state": {"type": "string", "enum": ["open", "cleared"]},
    "opened_at": TS,
    "reading_id": {"type": "string"},
    "failure_probability": PROBABILITY,
    "predicted_mode": _nullable("string"),
    "message": {"type": "string"},
    "cleared_at": NULLABLE_TS,
    "early_warning": _nullable(
        "object", description="an early warning's mode, remaining (time left), unit and text; MQTT only for now"
    ),
    "cleared_reason": {
        "type": ["string", "null"],
        "enum": ["calm", "offline", "superseded", None],
        "description": "why it cleared; MQTT only for now",
    },
    "schema_version": {"type": "integer"},
}
# Kept on MQTT but not (yet) in the API's store.
_UNSTORED = ("early_warning", "cleared_reason")

HISTORY_POINT: dict[str, Schema] = {
    "ts": TS,
    **READING_VALUES,
    "failure_probability": PROBABILITY,
    "status": STATUS,
}

SCHEMAS: dict[str, Schema] = {
    "Error": _object(
        {"error": {"type": "string"}, "field": _nullable("string", description="the parameter at fault")},
        "Every error answer.",
    ),
    "Prediction": _object(PREDICTION, "contract.Prediction: one scored reading with its values."),
    "Alert": _object(ALERT, "contract.Alert: one alert event.", optional=_UNSTORED),
    "AlertView": _object(
        {
            **{name: schema for name, schema in ALERT.items() if name not in _UNSTORED},
            "acked_by": _nullable("string"),
            "acked_at": NULLABLE_TS,
        },
        "An alert as stored: the Alert plus who acknowledged it and when.",
    ),
    "MachineSummary": _object(
        {
            "machine_id": {"type": "string"},
            "online": {"type": "boolean"},
            "status": {"type": ["string", "null"], "enum": ["normal", "predictive", "failure", None]},
            "last_seen": NULLABLE_TS,
            "latest": {"oneOf": [_ref("Prediction"), {"type": "null"}]},
            "open_alerts": {"type": "array", "items": _ref("AlertView")},
            "counts": _object({"readings": COUNT, "predictive": COUNT, "failure": COUNT}),
            "threshold": _nullable("number"),
        },
        "A machine's live state. online: its last status was not offline and it was heard from "
        "within FOREWARN_OFFLINE_AFTER_S. counts: its stored predictions (within retention).",
    ),
    "StatusCounts": _object(
        dict.fromkeys(("normal", "predictive", "failure", "offline", "online"), COUNT),
        "Machines by latest status (normal/predictive/failure) and by online/offline.",
    ),
    "MachinesResponse": _object(
        {"machines": {"type": "array", "items": _ref("MachineSummary")}, "counts": _ref("StatusCounts")}
    ),
    "HistoryPoint": _object(
        HISTORY_POINT,
        "A reading, or the bucket of readings it stands for: mean values, "
        "max failure_probability, worst status, mean time.",
    ),
    "HistoryResponse": _object(
        {
            "machine_id": {"type": "string"},
            "threshold": _nullable("number"),
            "downsampled": {"type": "boolean"},
            "points": {"type": "array", "items": _ref("HistoryPoint")},
        }
    ),
    "LogResponse": _object(
        {
            "items": {"type": "array", "items": _ref("Prediction")},
            "next_cursor": _nullable("string", description="pass as cursor for the next page; null at the end"),
        }
    ),
    "AlertsResponse": _object({"alerts": {"type": "array", "items": _ref("AlertView")}}),
    "DriftResponse": _object(
        {
            "model_version": {"type": ["string", "null"]},
            "machine_id": {"type": ["string", "null"]},
            "window": {"type": "integer", "description": "readings compared (the most any sensor was judged on)"},
            "reason": {"type": ["string", "null"], "description": "why there is no report, if there is none"},
            "features": {
                "type": "array",
                "items": _object(
                    {
                        "feature": {"type": "string"},
                        "psi": {"type": "number"},
                        "level": {"type": "string", "enum": ["stable", "moderate", "significant"]},
                        "readings": {"type": "integer", "description": "readings this sensor was judged on"},
                        "needed": {
                            "type": ["integer", "null"],
                            "description": "readings it needs: the limit, or its natural cycle if longer",
                        },
                        "outside": {
                            "type": "number",
                            "description": "share of its latest 100 readings outside the training range",
                        },
                        "basis": {
                            "type": "string",
                            "enum": ["distribution", "range"],
                            "description": "significant because out of the training range, or judged by PSI",
                        },
                    },
                    optional=("readings", "needed", "outside", "basis"),
                ),
            },
            "pending": {
                "type": "array",
                "description": "sensors not judged: too few readings yet for their natural cycle, or a cycle "
                "longer than the training data shows (needed null: range checked only, and in range)",
                "items": _object(
                    {
                        "feature": {"type": "string"},
                        "readings": COUNT,
                        "needed": {"type": ["integer", "null"], "minimum": 0},
                        "why": {"type": "string"},
                    },
                ),
            },
        },
        optional=("pending",),
    ),
    "AckRequest": _object(
        {
            "by": {
                "type": "string",
                "minLength": 1,
                "maxLength": NAME_MAX,
                "pattern": NAME_PATTERN,
                "description": "who acknowledges: no control characters, not blank",
            }
        }
    ),
    "Health": _object(
        {
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            "broker_connected": {"type": "boolean"},
            "database": {"type": "boolean"},
            "ingest_lag_s": _nullable("number", description="age of the oldest message not yet stored"),
            "version": {"type": "string"},
            "malformed_messages": COUNT,
            "queued_messages": COUNT,
            "event_streams": COUNT,
            "services": {
                "type": "object",
                "additionalProperties": _object({"state": {"type": "string"}, "ts": TS}),
                "description": "last status of each Forewarn service (pdm/services/+/status)",
            },
        },
        optional=("malformed_messages", "queued_messages", "event_streams", "services"),
    ),
}
