"""Reading validation generated from a machine's profile (pydantic v2, parsed in Rust).

A sensor's reading is flat JSON: the envelope (``reading_id``, ``ts``, optional
``machine_id``, ``failure``, ``failure_description``) plus the profile's fields at the top
level. Unknown keys are ignored. :func:`parse_reading` returns a :class:`~contract.Reading`
or raises :class:`~contract.InvalidReading` with a machine-readable reason::

    parser = reading_parser(profile)            # built once per profile object
    reading = parser.parse(payload, "press-7")  # Reading(reading_id, ts, values, ...)

The first problem wins, in this order: size, JSON, object, machine id, the numeric fields
(in profile order), reading id, timestamp, categories, texts, failure flag and description;
each mapped to the rejection reasons readings have always had (missing_field, wrong_type,
not_finite, out_of_bounds, bad_timestamp, bad_value, machine_mismatch...).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired, Required

from pydantic import AfterValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from contract.payloads import (
    DEFAULT_MAX_FUTURE_S,
    MAX_PAYLOAD_BYTES,
    READING_ID_PATTERN,
    InvalidReading,
    Reading,
    format_ts,
    parse_ts,
)
from contract.profiles import CategoryField, Profile, SensorField, TextField, default_profile

__all__ = ["ReadingParser", "parse_reading", "reading_parser", "reading_schema"]

MAX_DESCRIPTION = 256


def parse_reading(
    raw: bytes,
    machine_id: str | None = None,
    profile: Profile | None = None,
    *,
    now: datetime | None = None,
    max_future_s: float = DEFAULT_MAX_FUTURE_S,
) -> Reading:
    """Decode and validate a reading of a machine of `profile` (default: the built-in default).

    With `now` (the receiver's clock, aware), a `ts` more than `max_future_s` after it is
    refused as ``bad_timestamp``; without it the time is not compared with any clock.
    """
    return reading_parser(profile or default_profile()).parse(raw, machine_id, now=now, max_future_s=max_future_s)


def reading_parser(profile: Profile) -> ReadingParser:
    """The parser of `profile`, built on first use and kept with the profile object."""
    parser: ReadingParser = profile.cached("reading_parser", ReadingParser)
    return parser


def reading_schema(profile: Profile) -> dict[str, Any]:
    """JSON Schema of a reading of `profile` as a sensor sends it."""
    return reading_parser(profile).adapter.json_schema(mode="validation")


class ReadingParser:
    """Validates reading payloads against one profile."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(_typed_dict(profile))
        self._bounds = {f.name: (f.min, f.max) for f in profile.numeric_fields}
        self._texts = {f.name for f in profile.text_fields}
        self._categories = {f.name: tuple(f.values) for f in profile.category_fields}

    def parse(
        self,
        raw: bytes,
        machine_id: str | None = None,
        *,
        now: datetime | None = None,
        max_future_s: float = DEFAULT_MAX_FUTURE_S,
    ) -> Reading:
        """A Reading, or InvalidReading naming the first problem (see parse_reading for `now`)."""
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise InvalidReading("too_large", f"{len(raw)} bytes > {MAX_PAYLOAD_BYTES}")
        context = {"machine_id": machine_id, "now": now, "max_future_s": max_future_s}
        try:
            data = self.adapter.validate_json(raw, context=context)
        except ValidationError as exc:
            raise self._rejection(exc.errors(include_url=False, include_context=False)[0]) from None
        data.pop("machine_id", None)
        reading_id = data.pop("reading_id")
        ts = data.pop("ts")
        failure = data.pop("failure", None)
        description = data.pop("failure_description", None) or None
        for name in self._texts:
            if not data.get(name, True):  # an empty CSV cell means "not given"
                del data[name]
        return Reading(reading_id, ts, data, failure, description, self.profile.id)

    def _rejection(self, error: Any) -> InvalidReading:  # noqa: PLR0911 - one case per pydantic error type
        kind, loc, value = error["type"], error["loc"], error.get("input")
        name = str(loc[0]) if loc else None
        if kind == "json_invalid":
            return InvalidReading("not_json", f"payload is not JSON ({error['msg']})")
        if name is None:
            return InvalidReading("not_object", f"payload is a JSON {_json_type(value)}, not an object")
        if kind in ("bad_timestamp", "machine_mismatch", "bad_value"):
            return InvalidReading(kind, error["msg"], name)
        if kind == "missing" or value is None:
            return InvalidReading("missing_field", f"{name} is required", name)
        if name in self._bounds:
            return self._number_problem(kind, name, value)
        if name == "reading_id" and kind == "string_pattern_mismatch":
            return InvalidReading("bad_value", f"reading_id must match {READING_ID_PATTERN.pattern}", name)
        if name in self._categories:
            if not isinstance(value, str):
                return InvalidReading("wrong_type", f"{name} must be a string", name)
            return InvalidReading("bad_value", f"{name} must be one of {', '.join(self._categories[name])}", name)
        if name in self._texts or name == "failure_description":
            limit = self.profile.field(name).max_length if name in self._texts else MAX_DESCRIPTION  # type: ignore[union-attr]
            return InvalidReading("wrong_type", f"{name} must be a string of at most {limit}", name)
        return InvalidReading("wrong_type", f"{name} must be a string", name)

    def _number_problem(self, kind: str, name: str, value: Any) -> InvalidReading:
        if kind == "finite_number":
            return InvalidReading("not_finite", f"{name} is not finite", name)
        if kind in ("greater_than_equal", "less_than_equal"):
            low, high = self._bounds[name]
            return InvalidReading("out_of_bounds", f"{name}={float(value)} outside [{low}, {high}]", name)
        return InvalidReading("wrong_type", f"{name} must be a number", name)


# ---------------------------------------------------------------- the generated TypedDict


def _typed_dict(profile: Profile) -> type:
    """A TypedDict of the profile's reading, in the order problems are reported."""
    items: dict[str, Any] = {"machine_id": NotRequired[Annotated[Any, AfterValidator(_same_machine)]]}
    for numeric in profile.numeric_fields:
        items[numeric.name] = _number(numeric)
    items["reading_id"] = Required[
        Annotated[str, Strict(), Field(pattern=READING_ID_PATTERN.pattern, description="unique per machine")]
    ]
    items["ts"] = Required[Annotated[str, Strict(), AfterValidator(_timestamp), Field(description="RFC 3339")]]
    for category in profile.category_fields:
        items[category.name] = _category(category)
    for text in profile.text_fields:
        items[text.name] = _text(text)
    items["failure"] = NotRequired[Annotated[Any, AfterValidator(_flag), Field(description="0, 1 or null")]]
    items["failure_description"] = NotRequired[
        Annotated[str | None, Strict(), Field(max_length=MAX_DESCRIPTION, description="what failed, in words")]
    ]
    typed = TypedDict(f"Reading_{profile.id.replace('-', '_')}", items)  # type: ignore[misc]
    setattr(typed, "__pydantic_config__", ConfigDict(extra="ignore", title=f"Reading of a {profile.name}"))  # noqa: B010
    return typed


def _number(item: SensorField) -> Any:
    described = f"{item.label}" + (f" [{item.unit}]" if item.unit else "")
    number = Annotated[float, Strict(), Field(ge=item.min, le=item.max, allow_inf_nan=False, description=described)]
    return Required[number] if item.required else NotRequired[number | None]


def _category(item: CategoryField) -> Any:
    choice = Annotated[Literal[tuple(item.values)], Field(description=item.label)]  # type: ignore[valid-type]
    return Required[choice] if item.required else NotRequired[choice | None]


def _text(item: TextField) -> Any:
    text = Annotated[str, Strict(), Field(max_length=item.max_length, description=item.label)]
    return Required[text] if item.required else NotRequired[text | None]


def _same_machine(value: Any, info: ValidationInfo) -> Any:
    expected = (info.context or {}).get("machine_id")
    if expected is not None and value != expected:
        raise PydanticCustomError("machine_mismatch", "payload machine_id differs from topic")
    return value


def _timestamp(value: str, info: ValidationInfo) -> str:
    try:
        moment = parse_ts(value)
    except (ValueError, OverflowError) as exc:
        raise PydanticCustomError(
            "bad_timestamp", "ts {ts}: {why}", {"ts": repr(value[:40]), "why": str(exc)}
        ) from None
    if moment.year < 1970:  # a clock that was never set; history is kept in epoch milliseconds
        raise PydanticCustomError("bad_timestamp", "ts {ts} is before 1970", {"ts": repr(value[:40])})
    context = info.context or {}
    now = context.get("now")
    if now is not None:
        ahead, limit = (moment - now).total_seconds(), context["max_future_s"]
        if ahead > limit:
            raise PydanticCustomError(
                "bad_timestamp",
                "ts {ts} is {ahead} s ahead of the clock (at most {limit} s)",
                {"ts": repr(value[:40]), "ahead": f"{ahead:.0f}", "limit": f"{limit:g}"},
            )
    return format_ts(moment)


def _flag(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or value not in (0, 1):
        raise PydanticCustomError("bad_value", "failure must be 0 or 1")
    return int(value)


def _json_type(value: Any) -> str:
    return "list" if isinstance(value, list) else type(value).__name__
