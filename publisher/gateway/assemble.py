"""From raw device values to a profile's reading values: conversion, then assembly (no I/O).

A device reports one value at a time (an OPC UA data change, a Modbus register, a Sparkplug
metric); the assembler keeps the latest converted value of each field and hands out a complete
reading's values on request, or None while a required field has not been seen yet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from publisher.gateway.mapping import Constant, Conversion
from publisher.gateway.profile import FieldSpec, Profile

__all__ = ["Assembler", "BadValue", "convert"]

Raw = bool | int | float | str
Value = float | str


class BadValue(ValueError):
    """A device value that cannot become the field's value (wrong type, unknown code, not finite)."""


def convert(spec: FieldSpec, conversion: Conversion, raw: object) -> Value:
    """The profile value for a raw device value; BadValue if it has none."""
    if spec.kind == "category":
        return _category(spec, conversion, raw)
    if spec.kind == "text":
        return str(raw)
    if isinstance(raw, bool):
        raw = int(raw)
    if not isinstance(raw, int | float):
        raise BadValue(f"{spec.name}: {type(raw).__name__} {str(raw)[:40]!r} is not a number")
    value = conversion.apply(float(raw))
    if not math.isfinite(value):
        raise BadValue(f"{spec.name}: {raw} is not finite")
    return value


def _category(spec: FieldSpec, conversion: Conversion, raw: object) -> str:
    if conversion.enum is not None:
        code = int(raw) if isinstance(raw, int | float) and float(raw).is_integer() else None
        if code is None or code not in conversion.enum:
            raise BadValue(f"{spec.name}: code {raw!r} is not in the mapping's enum")
        return conversion.enum[code]
    if not isinstance(raw, str):
        raise BadValue(f"{spec.name}: {raw!r} is not text and the mapping has no enum for it")
    return raw


class Assembler:
    """The latest value of each mapped field of one machine, plus its constants."""

    def __init__(self, profile: Profile, fields: Mapping[str, Conversion], constants: Mapping[str, Constant]) -> None:
        self.profile = profile
        self.fields = dict(fields)
        self.constants: dict[str, Value] = {name: _constant(profile, name, v) for name, v in constants.items()}
        self._specs = {name: spec for name in self.fields if (spec := profile.field(name)) is not None}
        self._latest: dict[str, Value] = {}
        self.bad_values = 0

    def update(self, name: str, raw: object) -> None:
        """Record a raw value of field `name`; BadValue (counted) if it cannot be converted."""
        try:
            self._latest[name] = convert(self._specs[name], self.fields[name], raw)
        except BadValue:
            self.bad_values += 1
            self._latest.pop(name, None)  # a stale value must not stand in for a broken one
            raise

    def update_missing(self, name: str) -> None:
        """The device says it has no good value for `name` right now."""
        self._latest.pop(name, None)

    def forget(self) -> None:
        """The device went away: what it said before must not be published as current."""
        self._latest.clear()

    @property
    def missing(self) -> list[str]:
        """Required fields without a value yet."""
        known = self._latest.keys() | self.constants.keys()
        return [spec.name for spec in self.profile.fields if spec.required and spec.name not in known]

    def values(self) -> dict[str, Value] | None:
        """A complete reading's values, checked against the profile; None while a field is missing.

        InvalidReading if a value is outside the profile's bounds.
        """
        if self.missing:
            return None
        values = {**self.constants, **self._latest}
        for name, value in values.items():
            spec = self.profile.field(name)
            if spec is not None:
                spec.check(value)
        return values


def _constant(profile: Profile, name: str, value: Constant) -> Value:
    spec = profile.field(name)
    if spec is not None and spec.numeric and not isinstance(value, str):
        return float(value)
    return value
