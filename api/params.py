"""Query parameters and request bodies, checked: a bad one (an empty one too) is a 400 naming it."""

from __future__ import annotations

import re
from typing import Any

from flask import request
from werkzeug.datastructures import MultiDict

from api.errors import ApiError
from api.queries import LogFilter
from api.rows import STATUS_RANK, Cursor, decode_cursor, ts_to_ms
from contract import InvalidName, validate_name

__all__ = [
    "NAME_MAX",
    "NAME_PATTERN",
    "flag",
    "integer",
    "json_object",
    "log_filter",
    "machine_id",
    "one_of",
    "optional_cursor",
    "person_name",
    "profile_id",
    "timestamp",
]

Args = MultiDict[str, str]

# A person's name for an acknowledgement: no control characters, at least one visible one.
# Written so Python's re and the ECMA regexes of JSON Schema read it the same way.
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
NAME_MAX = 64


def timestamp(args: Args, name: str) -> int | None:
    """An optional RFC 3339 timestamp with offset, as epoch milliseconds."""
    raw = args.get(name)
    if raw is None:
        return None
    try:
        return ts_to_ms(raw)
    except (ValueError, OverflowError):
        raise ApiError(
            400, f"{name} must be an RFC 3339 timestamp with offset, e.g. 2026-11-27T08:00:00Z", name
        ) from None


def integer(args: Args, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer", name) from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}", name)
    return value


def one_of(args: Args, name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
    raw = args.get(name)
    if raw is None:
        return default
    if raw not in allowed:
        raise ApiError(400, f"{name} must be one of {', '.join(allowed)}", name)
    return raw


def flag(args: Args, name: str, default: bool) -> bool:
    """A true/false parameter."""
    return one_of(args, name, ("true", "false"), "true" if default else "false") == "true"


def json_object(refusal: str = "body must be a JSON object") -> dict[str, Any]:
    """The request's body, which must be a JSON object (`refusal`, a 400, when it is not)."""
    try:
        body = request.get_json(force=True, silent=True)
    except RecursionError:  # nested deeper than the parser goes: not a body we could use anyway
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, refusal)
    return body


def machine_id(value: str | None, name: str = "machine") -> str | None:
    if value is None:
        return None
    try:
        return validate_name(value)
    except InvalidName:
        raise ApiError(400, f"{name} must match [A-Za-z0-9_-]{{1,64}}", name) from None


_PROFILE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def profile_id(value: str | None, name: str = "profile") -> str | None:
    if value is None:
        return None
    if not _PROFILE_ID.fullmatch(value):
        raise ApiError(400, f"{name} must be a profile id matching {_PROFILE_ID.pattern}", name)
    return value


def optional_cursor(args: Args) -> Cursor | None:
    raw = args.get("cursor")
    if raw is None:
        return None
    try:
        return decode_cursor(raw)
    except ValueError:
        raise ApiError(400, "cursor is not one this API gave out", "cursor") from None


def person_name(value: object, name: str) -> str:
    """A name matching NAME_PATTERN (and encodable: JSON may carry lone surrogates), stripped."""
    if not isinstance(value, str) or len(value) > NAME_MAX or not re.fullmatch(NAME_PATTERN, value):
        raise ApiError(400, f"{name} must be a name of 1 to {NAME_MAX} characters without control characters", name)
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ApiError(400, f"{name} must be valid Unicode text", name) from None
    return value.strip()


def log_filter(args: Args) -> LogFilter:
    """The filters shared by /api/log and /api/export.csv (since after until: an empty window)."""
    return LogFilter(
        status=one_of(args, "status", tuple(STATUS_RANK)),
        machine_id=machine_id(args.get("machine")),
        profile=profile_id(args.get("profile")),
        since_ms=timestamp(args, "since"),
        until_ms=timestamp(args, "until"),
    )
