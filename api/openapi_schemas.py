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
        "ModelVersion": _object(
            {
                "version": {"type": "string"},
                "created_at": NULLABLE_TS,
                "threshold": _nullable("number"),
                "source": _nullable("string", description="files (python -m training) or history (--from-history)"),
                "validation": {
                    "oneOf": [
                        _object({k: _nullable("number") for k in ("precision", "recall", "f1")}),
                        {"type": "null"},
                    ]
                },
                "labels": {
                    "type": ["object", "null"],
                    "additionalProperties": COUNT,
                    "description": "labelled readings per source (models trained from history)",
                },
            },
            "A model version, from its card (all null but the version when the card is unreadable).",
        ),
        "ModelRoles": _object(
            {
                "profile": {"type": "string"},
                **{
                    role: {"oneOf": [_ref("ModelVersion"), {"type": "null"}]}
                    for role in ("champion", "challenger", "previous")
                },
            }
        ),
        "ModelsResponse": _object({"models": {"type": "array", "items": _ref("ModelRoles")}}),
        "ModelFigures": _object(
            {
                "version": {"type": "string"},
                **dict.fromkeys(
                    ("labelled", "failures", "true_positives", "false_positives", "flagged", "alerts"), COUNT
                ),
                "alerts_per_machine_day": {"type": "number"},
                "ms_per_reading": _nullable("number"),
                "precision": _nullable("number"),
                "recall": _nullable("number"),
                "f1": _nullable("number"),
            }
        ),
        "ComparisonResponse": _object(
            {
                "profile": {"type": "string"},
                "reason": _nullable("string", description="why there is no comparison, if there is none"),
                "comparison": {
                    "oneOf": [
                        _object(
                            {
                                "profile": {"type": "string"},
                                "readings": COUNT,
                                "machines": COUNT,
                                "machine_days": {"type": "number"},
                                "champion": _ref("ModelFigures"),
                                "challenger": _ref("ModelFigures"),
                                "agreement": _nullable("number"),
                                "champion_only": COUNT,
                                "challenger_only": COUNT,
                                "label_sources": {"type": "object", "additionalProperties": COUNT},
                            }
                        ),
                        {"type": "null"},
                    ]
                },
            }
        ),
        "ModelMove": _object(
            {
                "profile": {"type": "string"},
                "action": {"type": "string", "enum": ["promoted", "rolled back"]},
                "before": _nullable("string", description="the champion before"),
                "after": {"type": "string", "description": "the champion now"},
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


def _feedback_schemas() -> dict[str, Schema]:
    """The feedback requests (their pydantic models: what is checked is what is documented) and answers."""
    from api.feedback import (  # the models import api.params, like this module
        MAINTENANCE_ACTIONS,
        VERDICTS,
        MaintenanceRequest,
        SnoozeRequest,
        VerdictRequest,
        WindowRequest,
    )

    text, ts = _nullable("string"), TS
    requests = {
        model.__name__: model.model_json_schema()
        for model in (VerdictRequest, MaintenanceRequest, SnoozeRequest, WindowRequest)
    }
    verdict = _object(
        {
            "id": COUNT,
            "alert_id": {"type": "string"},
            "machine_id": {"type": "string"},
            "profile": text,
            "kind": {"type": "string"},
            "verdict": {"type": "string", "enum": list(VERDICTS)},
            "mode": text,
            "note": text,
            "by": text,
            "at": ts,
            "model_version": _nullable("string", description="the model whose prediction raised the alert"),
            "alert_opened_at": ts,
        },
        "One verdict on an alert: the latest of an alert is its verdict, the earlier ones its history.",
    )
    maintenance = _object(
        {
            "id": COUNT,
            "machine_id": {"type": "string"},
            "action": {"type": "string", "enum": list(MAINTENANCE_ACTIONS)},
            "at": ts,
            "note": text,
            "by": text,
            "recorded_at": ts,
        },
        "One entry of the maintenance log.",
    )
    snooze = _object(
        {
            "id": COUNT,
            "machine_id": text,
            "alert_id": text,
            "until": ts,
            "note": text,
            "by": text,
            "created_at": ts,
        },
        "A machine's alerts, or one alert, not notified until `until` (still recorded).",
    )
    window = _object(
        {
            "id": COUNT,
            "machine_id": {"type": "string"},
            "start": ts,
            "end": ts,
            "note": text,
            "by": text,
            "created_at": ts,
        },
        "Scheduled maintenance: the machine's alert events between start and end are recorded, not notified.",
    )
    rate = _object(
        {"judged": COUNT, "false_alarms": COUNT, "rate": _nullable("number")},
        "false alarms / alerts with a real_failure, false_alarm or planned_maintenance verdict",
    )
    rates = {"type": "object", "additionalProperties": _ref("FalseAlarmRate")}
    quality = _object(
        {
            "days": {"type": "number"},
            "machines": COUNT,
            "alerts": COUNT,
            "alerts_per_machine_day": {"type": "number"},
            "acknowledged": COUNT,
            "time_to_acknowledge_s": _object({"median": _nullable("number"), "mean": _nullable("number")}),
            "with_verdict": COUNT,
            "verdict_share": _nullable("number"),
            "verdicts": {"type": "object", "additionalProperties": COUNT},
            "false_alarm_rate": _object(
                {"overall": _ref("FalseAlarmRate"), "by_mode": rates, "by_rule": rates, "by_model_version": rates},
                "by_rule: the alert kind (predicted: the model's threshold or the wear forecast; detected: a "
                "failure the machine reported)",
            ),
            "noisiest_machines": {
                "type": "array",
                "items": _object(
                    {
                        "machine_id": {"type": "string"},
                        "alerts": COUNT,
                        "per_day": {"type": "number"},
                        "false_alarms": COUNT,
                    }
                ),
            },
        },
        "Alert quality over a window of alert openings.",
    )
    silence = {
        "allOf": [
            {"type": "object", "properties": {"type": {"type": "string", "enum": ["snooze", "maintenance_window"]}}}
        ]
    }
    return {
        **requests,
        "Verdict": verdict,
        "VerdictsResponse": _object({"verdicts": {"type": "array", "items": _ref("Verdict")}}),
        "MaintenanceEntry": maintenance,
        "MaintenanceResponse": _object({"maintenance": {"type": "array", "items": _ref("MaintenanceEntry")}}),
        "Snooze": snooze,
        "SnoozesResponse": _object({"snoozes": {"type": "array", "items": _ref("Snooze")}}),
        "MaintenanceWindow": window,
        "WindowsResponse": _object({"windows": {"type": "array", "items": _ref("MaintenanceWindow")}}),
        "SilencesResponse": _object(
            {"silenced": {"type": "boolean"}, "silences": {"type": "array", "items": silence}},
            "silenced: an alert event then is recorded but not notified (the snoozes and windows in force).",
        ),
        "Deleted": _object({"deleted": COUNT}),
        "FalseAlarmRate": rate,
        "QualityReport": quality,
    }


@cache
def _schemas() -> dict[str, Schema]:
    contract = components_from({**payload_schemas(), "Profile": profile_format_schema()})
    return {**contract, **_api_schemas(vocabularies()), **_feedback_schemas()}


SCHEMAS: dict[str, Schema] = _schemas()
