"""The OpenAPI 3.1 document served at /api/openapi.json: the routes written here, the payload
schemas taken from the contract (api/openapi_schemas.py).

A test checks that every Flask route is described here and every path here is a route.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from api.openapi_schemas import SCHEMAS
from api.runtime import VERSION
from contract import MACHINE_ID_PATTERN
from contract.payloads import PREDICTION_STATUSES
from contract.profiles import PROFILE_ID_PATTERN

__all__ = ["document"]

Doc = dict[str, Any]


def _ref(kind: str, name: str) -> Doc:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema_name: str, description: str) -> Doc:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("schemas", schema_name)}},
    }


def _query(name: str, description: str, schema: Doc) -> Doc:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _path(name: str, description: str) -> Doc:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _get(summary: str, ok: Doc, *errors: str, parameters: list[Doc] | None = None, tag: str = "read") -> Doc:
    operation: Doc = {"summary": summary, "tags": [tag], "responses": {"200": ok}}
    for code in ("400", "401", *errors):
        operation["responses"][code] = _ref("responses", code)
    if parameters:
        operation["parameters"] = parameters
    return operation


_ERRORS: dict[str, str] = {
    "400": "A parameter is malformed; `field` names it.",
    "401": "Bearer token missing or wrong.",
    "404": "No such machine, reading, alert, profile or file.",
    "409": "Refused as things stand (e.g. no challenger to promote, a model that does not load); the error says why.",
    "413": "Request body over 16 KiB.",
    "429": "Too many requests (writes: 10/s, burst 20, per client; event streams: 5 per client).",
    "503": "Writes disabled: FOREWARN_API_TOKEN is not set. Event streams: the API is shutting down; reconnect.",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}

_SINCE = _query("since", "RFC 3339 timestamp with offset; inclusive", {"type": "string", "format": "date-time"})
_UNTIL = _query("until", "RFC 3339 timestamp with offset; inclusive", {"type": "string", "format": "date-time"})
_STATUS = _query("status", "only this status", {"type": "string", "enum": list(PREDICTION_STATUSES)})
_MACHINE = _query("machine", "only this machine", {"type": "string", "pattern": MACHINE_ID_PATTERN.pattern})
_PROFILE = _query("profile", "only machines of this profile", {"type": "string", "pattern": PROFILE_ID_PATTERN})
_ACCESS_TOKEN = _query(
    "access_token",
    "the bearer token, for clients that cannot send headers (EventSource, download links); "
    "only needed when FOREWARN_API_READ_TOKEN_REQUIRED=true",
    {"type": "string"},
)
_LOG_FILTERS = [_STATUS, _MACHINE, _PROFILE, _SINCE, _UNTIL]
_MACHINE_ID = _path("machine_id", "machine id")
_AFTER = _query(
    "after",
    "an id: only rows recorded after it, oldest first (to follow a feed)",
    {"type": "integer", "minimum": 0, "maximum": 2**62},
)
_PROFILE_ID = _path("profile", "profile id")


def _paths() -> Doc:
    return {
        "/api/health": {
            "get": {
                "summary": "Readiness: broker connected, database reachable, ingest lag",
                "tags": ["ops"],
                "security": [],
                "responses": {"200": _json("Health", "Ready."), "503": _json("Health", "Not ready.")},
            }
        },
        "/api/machines": {
            "get": _get(
                "Every machine with its latest prediction, status, online flag, open alerts and counts",
                _json("MachinesResponse", "All machines, sorted by id."),
            )
        },
        "/api/machines/{machine_id}": {
            "get": _get(
                "One machine",
                _json("MachineSummary", "The machine."),
                "404",
                parameters=[_MACHINE_ID],
            )
        },
        "/api/machines/{machine_id}/history": {
            "get": _get(
                "Time series of readings and the model's outputs (failure probability, remaining useful "
                "life with its interval, anomaly score), oldest first; downsampled on the server (bucket "
                "mean time, values and RUL, max probability and anomaly score, worst status) into at most "
                "limit equal buckets when the window holds more than limit points. Buckets wider "
                "than a minute are made of whole minutes.",
                _json("HistoryResponse", "The points."),
                "404",
                parameters=[
                    _MACHINE_ID,
                    {**_SINCE, "description": "window start; default until minus 24 hours"},
                    {**_UNTIL, "description": "window end; default now"},
                    _query(
                        "limit",
                        "most points returned",
                        {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
                    ),
                ],
            )
        },
        "/api/profiles": {
            "get": _get(
                "Every profile (machine class): fields with labels, units, bounds and kind, failure modes, "
                "derived features, physics, model kind; built in and added to the registry",
                _json("ProfilesResponse", "The profiles, sorted by id."),
            )
        },
        "/api/profiles/{profile}": {
            "get": _get("One profile", _json("Profile", "The profile."), "404", parameters=[_PROFILE_ID])
        },
        "/api/log": {
            "get": _get(
                "Scored readings, newest first, in pages",
                _json("LogResponse", "One page."),
                parameters=[
                    *_LOG_FILTERS,
                    _query("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
                    _query("cursor", "next_cursor of the previous page", {"type": "string", "minLength": 1}),
                ],
            )
        },
        "/api/readings/{machine_id}/{reading_id}": {
            "get": _get(
                "One reading with its prediction (and explanation when the model gave one)",
                _json("Prediction", "The prediction."),
                "404",
                parameters=[_MACHINE_ID, _path("reading_id", "reading id")],
            )
        },
        "/api/drift": {
            "get": _get(
                "Per-field drift (population stability index) of recent readings from the training data of "
                "the profile's model in service: of one machine (its profile), or of every machine of a profile "
                "(default: FOREWARN_DEFAULT_PROFILE)",
                _json("DriftResponse", "The drift report."),
                parameters=[
                    _MACHINE,
                    _PROFILE,
                    _query(
                        "limit",
                        "recent readings compared",
                        {"type": "integer", "minimum": 10, "maximum": 50000, "default": 1000},
                    ),
                ],
            )
        },
        "/api/alerts": {
            "get": _get(
                "Alerts, open first, newest first",
                _json("AlertsResponse", "The alerts."),
                parameters=[
                    _query(
                        "state",
                        "which alerts",
                        {"type": "string", "enum": ["open", "cleared", "all"], "default": "all"},
                    ),
                    _MACHINE,
                    _query(
                        "limit",
                        "most alerts returned",
                        {"type": "integer", "minimum": 1, "maximum": 5000, "default": 500},
                    ),
                ],
            )
        },
        "/api/alerts/{alert_id}/ack": {
            "post": {
                "summary": "Acknowledge an alert (the first acknowledgement stands)",
                "tags": ["write"],
                "security": [{"bearerAuth": []}],
                "parameters": [_path("alert_id", "alert id")],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("schemas", "AckRequest")}},
                },
                "responses": {
                    "200": _json("AlertView", "The acknowledged alert."),
                    **{code: _ref("responses", code) for code in ("400", "401", "404", "413", "429", "503")},
                },
            }
        },
        **_feedback_paths(),
        "/api/export.csv": {
            "get": _get(
                "The log as CSV (same filters), newest first, streamed",
                {
                    "description": "CSV with a header row: the Prediction fields but explanation, with values "
                    "spread into one column per field of the profiles of the machines selected, then the "
                    "model's outputs (model_kind, rul, rul_low, rul_high, rul_unit, rul_horizon, anomaly_score, "
                    "anomaly_threshold; empty where the model gives none).",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                parameters=[
                    *_LOG_FILTERS,
                    _query("limit", "most rows", {"type": "integer", "minimum": 1, "maximum": 10_000_000}),
                    _ACCESS_TOKEN,
                ],
            )
        },
        "/api/events": {
            "get": _get(
                "Server-sent events: `prediction` (Prediction), `alert` (AlertView), `status` "
                "({machine_id, online, ts}), each with an increasing id; `resync` (no id) when events after "
                "Last-Event-ID are no longer in memory. A `: keepalive` comment every 15 s.",
                {
                    "description": "An endless text/event-stream.",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "429",
                "503",
                parameters=[
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0},
                        "description": "replay the events after this id that are still in memory",
                    },
                    _query("last_event_id", "same as the Last-Event-ID header", {"type": "integer", "minimum": 0}),
                    _ACCESS_TOKEN,
                ],
            )
        },
        "/api/models": {
            "get": _get(
                "Per profile: the champion (its predictions alert), the challenger (scored in shadow) and the "
                "previous champion (what a rollback returns to), from their model cards",
                _json("ModelsResponse", "The models."),
            )
        },
        "/api/models/{profile}/comparison": {
            "get": _get(
                "Champion against challenger on the readings both scored: precision and recall on labelled "
                "readings (reported failures, verdicts), alerts per machine-day, agreement",
                _json("ComparisonResponse", "The comparison, or null with the reason."),
                "404",
                parameters=[_PROFILE_ID],
            )
        },
        "/api/models/{profile}/promote": _model_move(
            "Promote the challenger: it becomes the champion, the champion is kept for a rollback"
        ),
        "/api/models/{profile}/rollback": _model_move(
            "Roll back: the previous champion serves again (a second rollback undoes the first)"
        ),
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "tags": ["ops"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/": {
            "get": {
                "summary": "The dashboard (dashboard/dist/index.html), or a page telling how to build it",
                "tags": ["dashboard"],
                "security": [],
                "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}},
            }
        },
        "/{filename}": {
            "get": {
                "summary": "A built file of the dashboard",
                "tags": ["dashboard"],
                "security": [],
                "parameters": [_path("filename", "path under dashboard/dist")],
                "responses": {
                    "200": {"description": "The file", "content": {"*/*": {"schema": {}}}},
                    "404": _ref("responses", "404"),
                },
            }
        },
    }


def _model_move(summary: str) -> Doc:
    return {
        "post": {
            "summary": f"{summary}; the workers follow without a restart",
            "tags": ["write"],
            "security": [{"bearerAuth": []}],
            "parameters": [_PROFILE_ID],
            "responses": {
                "200": _json("ModelMove", "What moved."),
                **{code: _ref("responses", code) for code in ("400", "401", "404", "409", "413", "429", "503")},
            },
        }
    }


def _write(summary: str, request: str | None, ok: Doc, *errors: str, parameters: list[Doc] | None = None) -> Doc:
    operation: Doc = {
        "summary": summary,
        "tags": ["write"],
        "security": [{"bearerAuth": []}],
        "responses": {
            "200": ok,
            **{code: _ref("responses", code) for code in ("400", "401", *errors, "413", "429", "503")},
        },
    }
    if request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref("schemas", request)}},
        }
    if parameters:
        operation["parameters"] = parameters
    return operation


def _feedback_paths() -> Doc:
    """Verdicts, maintenance log, snoozes, maintenance windows, silences, alert quality."""
    limit = _query("limit", "most rows", {"type": "integer", "minimum": 1, "maximum": 100_000, "default": 5000})
    verdict_filters = [
        _query("alert_id", "only this alert's", {"type": "string"}),
        _MACHINE,
        _query("history", "every verdict given (true), or each alert's latest (false)", {"type": "boolean"}),
        _AFTER,
        limit,
    ]
    active = _query("active", "only those in force now (default true)", {"type": "boolean"})
    item_id = {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "/api/alerts/{alert_id}/verdict": {
            "post": _write(
                "Give an alert a verdict (real_failure with its mode, false_alarm, planned_maintenance, unsure); "
                "a later one replaces it, the earlier ones are kept as history",
                "VerdictRequest",
                _json("Verdict", "The verdict stored, with the model version that raised the alert."),
                "404",
                parameters=[_path("alert_id", "alert id")],
            )
        },
        "/api/verdicts": {
            "get": _get(
                "Verdicts, newest first", _json("VerdictsResponse", "The verdicts."), parameters=verdict_filters
            )
        },
        "/api/verdicts.csv": {
            "get": _get(
                "Verdicts as CSV (same filters)",
                {
                    "description": "CSV: alert_id, machine_id, profile, kind, verdict, mode, note, by, at, "
                    "model_version, alert_opened_at",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                parameters=[*verdict_filters, _ACCESS_TOKEN],
            )
        },
        "/api/maintenance": {
            "get": _get(
                "The maintenance log, newest first",
                _json("MaintenanceResponse", "The entries."),
                parameters=[_MACHINE, _AFTER, limit],
            ),
            "post": _write(
                "Log maintenance (tool_replaced, repaired, inspected, other)",
                "MaintenanceRequest",
                _json("MaintenanceEntry", "The entry stored."),
            ),
        },
        "/api/snoozes": {
            "get": _get("Snoozes", _json("SnoozesResponse", "The snoozes."), parameters=[active]),
            "post": _write(
                "Snooze a machine's alerts or one alert: recorded, not notified, for minutes or until a time",
                "SnoozeRequest",
                _json("Snooze", "The snooze stored."),
            ),
        },
        "/api/snoozes/{item_id}": {
            "delete": _write("End a snooze", None, _json("Deleted", "Deleted."), "404", parameters=[item_id])
        },
        "/api/maintenance-windows": {
            "get": _get("Maintenance windows", _json("WindowsResponse", "The windows."), parameters=[active]),
            "post": _write(
                "Schedule a maintenance window: the machine's alert events in it are recorded, not notified",
                "WindowRequest",
                _json("MaintenanceWindow", "The window stored."),
            ),
        },
        "/api/maintenance-windows/{item_id}": {
            "delete": _write(
                "Remove a maintenance window", None, _json("Deleted", "Deleted."), "404", parameters=[item_id]
            )
        },
        "/api/silences": {
            "get": _get(
                "Whether an alert event is to be notified: the snoozes and maintenance windows in force for it",
                _json("SilencesResponse", "What silences it (none: notify)."),
                parameters=[
                    {**_MACHINE, "required": True, "description": "the alert's machine"},
                    _query("alert_id", "the alert", {"type": "string"}),
                    {**_SINCE, "name": "at", "description": "the event's time; default now"},
                ],
            )
        },
        "/api/alerts/quality": {
            "get": _get(
                "Alert quality: alerts per machine-day, time to acknowledge, share with a verdict, false-alarm "
                "rate by mode, rule and model version, the noisiest machines (alerts opened in the window)",
                _json("QualityReport", "The report."),
                parameters=[
                    {**_SINCE, "description": "window start; default until minus 30 days"},
                    {**_UNTIL, "description": "window end; default now"},
                ],
            )
        },
    }


@cache
def _document() -> Doc:
    responses: Doc = {code: _json("Error", text) for code, text in _ERRORS.items()}
    responses["429"]["headers"] = _RETRY_AFTER
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Forewarn API",
            "version": VERSION,
            "description": "Live machine state, durable history and events of Forewarn. Reads are open "
            "unless FOREWARN_API_READ_TOKEN_REQUIRED=true; writes need "
            "`Authorization: Bearer FOREWARN_API_TOKEN`. "
            'Timestamps are RFC 3339 UTC. Errors are {"error", "field"}.',
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "security": [{}, {"bearerAuth": []}],
        "tags": [{"name": name} for name in ("read", "write", "ops", "dashboard")],
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "responses": responses,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


def document() -> Doc:
    """A copy of the document (callers may not change the cached one)."""
    return copy.deepcopy(_document())
