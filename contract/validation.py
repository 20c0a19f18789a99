"""Validating parsers for the payloads services read from each other (pydantic v2).

    prediction = parse_prediction(payload)   # bytes, str or dict; version 1 is upgraded
    alert = parse_alert(payload)
    parse_status(payload), parse_rejection(payload)

Each returns the contract's dataclass or raises :class:`InvalidPayload`, whose message is
one line naming the field. The checks are the dataclasses' own annotations (types,
vocabularies, probabilities within [0, 1]); the JSON Schemas come from the same source
(:mod:`contract.schemas`), so what is documented is what is checked.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ConfigDict, TypeAdapter, ValidationError

from contract.compat import upgrade_prediction
from contract.payloads import Alert, Prediction, Rejection, Status

__all__ = ["InvalidPayload", "adapter", "parse_alert", "parse_prediction", "parse_rejection", "parse_status"]

T = TypeVar("T")
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_CONFIG = ConfigDict(strict=True, allow_inf_nan=False)


class InvalidPayload(ValueError):
    """A payload that does not follow the contract; `field` names the culprit when there is one."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def adapter(cls: type[T]) -> TypeAdapter[T]:
    """The pydantic adapter of a payload dataclass (strict: no string-to-number coercion)."""
    found = _ADAPTERS.get(cls)
    if found is None:
        cls.__pydantic_config__ = _CONFIG  # type: ignore[attr-defined]
        found = _ADAPTERS[cls] = TypeAdapter(cls)
    return found


def parse_prediction(payload: bytes | str | dict[str, Any]) -> Prediction:
    """A Prediction of either schema version (version 1 is upgraded to 2)."""
    return _validated(Prediction, upgrade_prediction(_object(payload)))


def parse_alert(payload: bytes | str | dict[str, Any]) -> Alert:
    return _validated(Alert, _object(payload))


def parse_status(payload: bytes | str | dict[str, Any]) -> Status:
    return _validated(Status, _object(payload))


def parse_rejection(payload: bytes | str | dict[str, Any]) -> Rejection:
    return _validated(Rejection, _object(payload))


def _object(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(payload, dict):
        return payload
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        raise InvalidPayload("payload is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidPayload("payload is not a JSON object")
    return data


def _validated(cls: type[T], data: dict[str, Any]) -> T:
    # Validated as JSON: strict mode then takes objects for dataclasses and still refuses
    # strings for numbers (pydantic's strict Python mode would want class instances).
    try:
        text = _ENCODER.encode(data)
    except (ValueError, TypeError) as exc:
        raise InvalidPayload(f"payload cannot be JSON ({exc})") from None
    try:
        return adapter(cls).validate_json(text)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or None
        raise InvalidPayload(f"{where}: {error['msg']}" if where else str(error["msg"]), where) from None
