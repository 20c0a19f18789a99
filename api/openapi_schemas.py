"""JSON Schemas (OpenAPI 3.1 components) of everything the API answers.

The payloads (Prediction, Alert, Status, Rejection, Reading), the vocabularies and the profile
format are the contract's own JSON Schemas (contract.schemas, generated from its pydantic
models): nothing here restates a payload. Their ``$defs`` become components and their
references are rewritten to point there. Only the API's own answers (wrappers, the machine
summary, history points, the drift report, health) are described here, by reference to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from api.params import NAME_MAX, NAME_PATTERN
from contract.schemas import payload_schemas, profile_format_schema, vocabularies

__all__ = ["SCHEMAS", "components_from"]

Schema = dict[str, Any]

TS: Schema = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC"}
NULLABLE_TS: Schema = {"type": ["string", "null"], "format": "date-time"}
COUNT: Schema = {"type": "integer", "minimum": 0}
_DEFS = "#/$defs/"
_COMPONENTS = "#/components/schemas/"


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
    return {"$ref": f"{_COMPONENTS}{name}"}


def components_from(schemas: Mapping[str, Schema]) -> dict[str, Schema]:
    """Named JSON Schemas as OpenAPI components: each one, and every ``$defs`` entry hoisted.

    A definition that two schemas both carry must be the same; references to ``#/$defs/X``
    become ``#/components/schemas/X``.
    """
    found: dict[str, Schema] = {}

    def put(name: str, schema: Schema) -> None:
        if name in found and found[name] != schema:
            raise ValueError(f"two different JSON Schemas are both named {name!r}")
        found[name] = schema

    for name, schema in schemas.items():
        body = _rewritten(dict(schema))
        for defined, definition in body.pop("$defs", {}).items():
            put(defined, definition)
        put(name, body)
    return found


def _rewritten(node: Any) -> Any:
    """`node` with every reference into ``$defs`` ($ref, discriminator mappings) pointing at components."""
    if isinstance(node, dict):
        return {key: _rewritten(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewritten(value) for value in node]
    if isinstance(node, str) and node.startswith(_DEFS):
        return _COMPONENTS + node.removeprefix(_DEFS)
    return node


def _api_schemas(words: Mapping[str, list[str]]) -> dict[str, Schema]:
    status: Schema = {"type": "string", "enum": words["prediction_statuses"]}
    return {
        "Error": _object(
            {"error": {"type": "string"}, "field": _nullable("string", description="the parameter at fault")},
            "Every error answer.",
        ),
        "AlertView": {
            "description": "An alert as stored: the Alert plus who acknowledged it and when.",
            "allOf": [
                _ref("Alert"),
                _object({"acked_by": _nullable("string"), "acked_at": NULLABLE_TS}),
            ],
        },
        "MachineSummary": _object(
            {
                "machine_id": {"type": "string"},
                "profile": _nullable("string", description="its profile (GET /api/profiles/ID); null before a reading"),
                "online": {"type": "boolean"},
                "status": {"type": ["string", "null"], "enum": [*words["prediction_statuses"], None]},
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
            dict.fromkeys((*words["prediction_statuses"], "offline", "online"), COUNT),
            "Machines by latest status and by online/offline.",
        ),
        "MachinesResponse": _object(
            {"machines": {"type": "array", "items": _ref("MachineSummary")}, "counts": _ref("StatusCounts")}
        ),
        "HistoryPoint": _object(
            {
                "ts": TS,
                "values": {
                    "type": "object",
                    "additionalProperties": {"type": "number"},
                    "description": "the numbers of the reading's values (its profile's sensors and counters)",
                },
                "failure_probability": _nullable("number", minimum=0, maximum=1),
                "status": status,
                "rul": _nullable("number", description="a RUL model's remaining useful life (its unit: rul_unit)"),
                "rul_low": _nullable("number", description="lower end of the RUL's interval"),
                "rul_high": _nullable("number", description="upper end of the RUL's interval"),
                "anomaly_score": _nullable("number", description="an anomaly detector's score"),
            },
            "A reading, or the bucket of readings it stands for: mean values, "
            "max failure_probability, worst status, mean time, mean rul (and interval), max anomaly_score. "
            "The model outputs are null where the machine's model gives none.",
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
        "ProfilesResponse": _object({"profiles": {"type": "array", "items": _ref("Profile")}}),
        "DriftResponse": _object(
            {
                "model_version": {"type": ["string", "null"]},
                "machine_id": {"type": ["string", "null"]},
                "profile": {"type": ["string", "null"], "description": "whose model and fields"},
                "window": {"type": "integer", "description": "readings compared"},
                "reason": {"type": ["string", "null"], "description": "why there is no report, if there is none"},
                "features": {
                    "type": "array",
                    "items": _object(
                        {
                            "feature": {"type": "string"},
                            "psi": {"type": "number"},
                            "level": {"type": "string", "enum": ["stable", "moderate", "significant"]},
                        }
                    ),
                },
            }
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


@cache
def _schemas() -> dict[str, Schema]:
    contract = components_from({**payload_schemas(), "Profile": profile_format_schema()})
    return {**contract, **_api_schemas(vocabularies())}


SCHEMAS: dict[str, Schema] = _schemas()
